"""Bodies the framework cannot parse: a problem+json 400 that names the body and the fix."""

from __future__ import annotations

import uuid

import httpx
import pytest

LOGIN_URL = "/api/v1/auth/login"
DELIVERED_URL = f"/api/v1/courier/deliveries/{uuid.uuid4()}/delivered"


def check_body_problem(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "bad_request"
    assert problem["status"] == 400
    errors = problem["errors"]
    assert len(errors) == 1
    error: dict[str, str] = errors[0]
    assert error["field"] == "body"
    assert error["message"] == problem["detail"]
    return error


async def test_json_nested_too_deep(client: httpx.AsyncClient) -> None:
    depth = 100_000
    body = "[" * depth + "]" * depth

    response = await client.post(
        LOGIN_URL, content=body, headers={"Content-Type": "application/json"}
    )

    error = check_body_problem(response)
    assert "JSON" in error["fix"]


async def test_multipart_without_boundary(client: httpx.AsyncClient) -> None:
    response = await client.post(
        DELIVERED_URL,
        content=b"handover_code=1234",
        headers={"Content-Type": "multipart/form-data"},
    )

    error = check_body_problem(response)
    assert "boundary" in error["message"]
    assert "boundary" in error["fix"]


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
async def test_too_many_form_fields(client: httpx.AsyncClient, encoding: str) -> None:
    fields = {f"field{index}": "x" for index in range(1001)}
    if encoding == "multipart":
        # httpx sends multipart/form-data when files are present.
        response = await client.post(
            DELIVERED_URL, data=fields, files={"note": ("note.txt", b"x", "text/plain")}
        )
    else:
        response = await client.post(DELIVERED_URL, data=fields)

    error = check_body_problem(response)
    assert error["message"].startswith("Too many fields")
    assert error["fix"] == "send fewer form fields"


async def test_other_http_errors_unchanged(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-path")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "errors" not in response.json()
