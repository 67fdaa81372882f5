"""One JSON error shape for every failure: {"error": <code>, "message": <text>, ...}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match


class ErrorOut(BaseModel):
    """Every error answer: a stable `error` code, a sentence for people, and fields that
    some errors add (`attempts_left`, `retry_after`, `current_status`, `details`)."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str


_DESCRIPTIONS = {
    400: "Bad input, or a wrong code",
    401: "Missing or wrong credentials",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflicts with the current state",
    410: "Expired or superseded",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many attempts; see Retry-After",
    502: "A service this call needs did not answer",
    503: "Unavailable (the database)",
}
# Documented on every operation: any of them can answer a call, so a client (and
# schemathesis) knows each one's shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _DESCRIPTIONS.items()
}


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No {what} with that identifier.")


def bad_query(field: str, message: str) -> ApiError:
    """A 422 for a query parameter that FastAPI's own validation cannot judge (one that does
    not go with another, say), shaped like the ones it gives."""
    return ApiError(422, "validation_failed", f"Invalid query.{field}: {message}",
                    details=[{"field": f"query.{field}", "message": message,
                              "type": "value_error"}])


def _describe(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    details: list[dict[str, Any]] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        # Never echo the submitted input back: it may contain a code or personal data.
        details.append({"field": ".".join(loc), "message": err.get("msg", ""),
                        "type": err.get("type", "")})
    types = {d["type"] for d in details}
    if "json_invalid" in types:
        return "Malformed JSON body.", details
    extra = [d["field"].split(".")[-1] for d in details if d["type"] == "extra_forbidden"]
    if extra:
        return f"Unknown field(s): {', '.join(extra)}.", details
    first = details[0] if details else {"field": "", "message": "invalid input"}
    return f"Invalid {first['field'] or 'input'}: {first['message']}", details


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body = {"error": exc.code, "message": exc.message, **exc.extra}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, details = _describe(list(exc.errors()))
    return JSONResponse(
        {"error": "validation_failed", "message": message, "details": details}, status_code=422
    )


def _allowed_methods(request: Request) -> str:
    """Every method of every route at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse({"error": code, "message": str(exc.detail)},
                        status_code=exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
