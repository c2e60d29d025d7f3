"""Errors a client sees, in the OpenAI shape: {"error": {"message", "type", "param", "code"}}."""
from __future__ import annotations

from fastapi.responses import JSONResponse

# The `type` OpenAI uses for each status class.
_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
          405: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error",
          503: "server_error", 504: "timeout_error"}


class APIError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type or _TYPES.get(status, "server_error" if status >= 500 else
                                       "invalid_request_error")

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, param=self.param, code=self.code,
                              type=self.type)


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   type: str | None = None) -> JSONResponse:
    body = {"error": {"message": message,
                      "type": type or _TYPES.get(status, "server_error" if status >= 500
                                                 else "invalid_request_error"),
                      "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)
