from django.core.management import call_command


def test_openapi_schema_validates_without_warnings(db, tmp_path) -> None:
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/signup/" in text
    assert "/api/v1/projects/" in text


def test_docs_pages_are_served_on_the_public_host(db, client_for) -> None:
    client = client_for(None)
    assert client.get("/api/schema/").status_code == 200
    for page in ("/api/docs/", "/api/redoc/"):
        response = client.get(page)
        assert response.status_code == 200
        assert b"<html" in response.content.lower()
