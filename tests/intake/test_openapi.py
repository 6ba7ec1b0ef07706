"""The intake OpenAPI document describes every endpoint: purpose, security, bodies, errors."""

from __future__ import annotations

from tests.intake.conftest import IntakeApi


def test_every_operation_is_documented_with_security_and_problem_errors(intake: IntakeApi) -> None:
    spec = intake.http.get("/openapi.json").json
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 19
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary") or operation.get("description"), where
        assert operation["security"] == [{"bearerAuth": []}], where
        assert {"401", "403"} <= set(operation["responses"]), where
        assert any(code.startswith("2") for code in operation["responses"]), where
        if method in ("post", "put", "patch") and "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]
            assert "example" in body, where


def test_request_schemas_carry_examples(intake: IntakeApi) -> None:
    schemas = intake.http.get("/openapi.json").json["components"]["schemas"]
    assert schemas["ClientIn"]["properties"]["given_name"]["example"] == "Alex"
    assert "example" in schemas["AssessmentIn"]["properties"]["domains"]
    assert "example" in schemas["AssessmentIn"]["properties"]["phq9"]
