// The typed client over schema.d.ts, which `make sdk` generates from our OpenAPI schema
// (openapi-typescript); requests go through openapi-fetch. Copied beside the generated types
// into build/sdk/typescript/.
import createClient from "openapi-fetch";

import type { components, paths, webhooks } from "./schema";

export type { components, operations, paths, webhooks } from "./schema";

/** The API's models by component name: `Schemas["Task"]`, `Schemas["Error"]`. */
export type Schemas = components["schemas"];

/** The body each outbound webhook event type is POSTed with: `WebhookEvents["task.created"]`. */
export type WebhookEvents = {
  [Type in keyof webhooks]: webhooks[Type]["post"]["requestBody"]["content"]["application/json"];
};

/** Any event a webhook endpoint can receive, discriminated by its `type`. */
export type WebhookEvent = WebhookEvents[keyof WebhookEvents];

export interface SaasClientOptions {
  /** The public host (`http://localhost:8000`) or an organization's (`http://acme.localhost:8000`). */
  baseUrl: string;
  /** An access token from `POST /api/v1/auth/login/` on the organization's host. */
  token?: string;
}

export function createSaasClient({ baseUrl, token }: SaasClientOptions) {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

export type SaasClient = ReturnType<typeof createSaasClient>;
