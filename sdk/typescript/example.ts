// Type-checked against the generated client by `make sdk` (and tests/api), never shipped:
// a change to the schema that breaks this usage fails there.
import { createSaasClient, type Schemas, type WebhookEvent } from "./index";

export async function launch(token: string): Promise<Schemas["Task"] | undefined> {
  const acme = createSaasClient({ baseUrl: "http://acme.localhost:8000", token });
  const created = await acme.POST("/api/v1/projects/", { body: { name: "Rocket" } });
  if (created.error) {
    const error: Schemas["Error"] = created.error;
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  const project: Schemas["Project"] = created.data;
  const task = await acme.POST("/api/v1/projects/{project_id}/tasks/", {
    params: { path: { project_id: project.id } },
    body: { title: "Launch", priority: 3 },
  });
  const tasks = await acme.GET("/api/v1/projects/{project_id}/tasks/", {
    params: { path: { project_id: project.id }, query: { status: "todo" } },
  });
  tasks.data?.results.forEach((item: Schemas["Task"]) => item.title.toUpperCase());
  // @ts-expect-error: a project's name is a string
  await acme.POST("/api/v1/projects/", { body: { name: 1 } });
  return task.data;
}

// A receiver's handler: the body (after verifying its Standard Webhooks signature) narrows on
// `type` to that event's payload.
export function describe(body: string): string {
  const event = JSON.parse(body) as WebhookEvent;
  switch (event.type) {
    case "task.created":
      return `task ${event.data.id} in project ${event.data.project_id}: ${event.data.title}`;
    case "member.role_changed":
      return `${event.data.user_id}: ${event.data.previous_role} -> ${event.data.role}`;
    case "project.deleted":
      // @ts-expect-error: a deleted project's payload has no description
      return event.data.description;
    default:
      return `${event.type} at ${event.timestamp}`;
  }
}
