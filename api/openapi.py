"""The OpenAPI 3.1 document of /api/v1, kept beside the code it describes.

tests/test_prod_api_openapi.py checks that every API route is here and every path here is a route;
tests/test_prod_api_fuzz.py runs schemathesis against it, so a drift between the two fails the suite.
"""

from __future__ import annotations

import copy
import functools
import re

from flask import jsonify

from . import bp
from .common import DEFAULT_PER_PAGE, MAX_ID, MAX_PAGE, MAX_PER_PAGE, MAX_YEAR, MIN_YEAR

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _ok(description: str, schema_ref: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _page_of(item_ref: str) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
        },
    }


def _id_parameter(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


SLUG = {"type": "string", "minLength": 1, "maxLength": 64}
DATE = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

PAGE_PARAMETERS = [
    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
    _query(
        "per_page",
        f"Items per page, at most {MAX_PER_PAGE}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
]
LANG_PARAMETER = _query(
    "lang",
    "Language of names and texts (else Accept-Language, else Chinese).",
    {"type": "string", "enum": ["en", "zh_CN"]},
)
DATE_PARAMETERS = [
    _query("from", f"First local date (Asia/Shanghai), inclusive; default today. Years {MIN_YEAR}-{MAX_YEAR}.", DATE),
    _query("to", "Last local date, inclusive; not before `from`.", DATE),
]

PUBLIC_ERRORS = {
    "400": _error("A parameter is not valid."),
    "503": _error("The database is briefly unreachable; retry later."),
}
TOKEN_ERRORS = {
    "400": _error("A parameter or the body is not valid."),
    "401": _error("No valid API token was sent."),
    "403": _error("The token's owner may not act on this team."),
    "404": _error("The team, shift or assignment does not exist."),
    "503": _error("The database is briefly unreachable; retry later."),
}

NULLABLE_STRING = {"type": ["string", "null"]}

SCHEMAS = {
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["status", "code", "message"],
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "code": {"type": "string", "description": "Stable, for programs: e.g. invalid_date, not_found."},
                    "message": {"type": "string", "description": "For people, in the request's language."},
                },
            }
        },
    },
    "Programme": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "slug", "kind", "name", "description"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "kind": {"type": "string", "enum": ["contact_day", "holiday_court", "legal_clinic"]},
            "name": {"type": "string"},
            "description": {"type": "string"},
        },
    },
    "NamedPlace": {
        "type": "object",
        "additionalProperties": False,
        "required": ["slug", "name"],
        "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
    },
    "Occurrence": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "uid",
            "programme",
            "kind",
            "title",
            "local_date",
            "starts_at",
            "ends_at",
            "status",
            "english_service",
            "note",
            "community",
            "venue",
            "on_public_holiday",
            "sequence",
        ],
        "properties": {
            "id": {"type": "integer"},
            "uid": {"type": "string", "description": "The event's UID in the iCalendar feeds."},
            "programme": {"type": "string", "description": "Programme slug."},
            "kind": {"type": "string", "enum": ["contact_day", "holiday_court", "legal_clinic"]},
            "title": {"type": "string"},
            "local_date": {"type": "string", "format": "date"},
            "starts_at": {"type": "string", "format": "date-time", "description": "Local time with offset."},
            "ends_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
            "english_service": {"type": "boolean", "description": "Service in English is offered."},
            "note": {"type": "string"},
            "community": {"oneOf": [{"$ref": "#/components/schemas/NamedPlace"}, {"type": "null"}]},
            "venue": {
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["slug", "name", "address"],
                        "properties": {
                            "slug": {"type": "string"},
                            "name": {"type": "string"},
                            "address": {"type": "string"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "on_public_holiday": {"type": "boolean"},
            "sequence": {"type": "integer", "minimum": 0, "description": "Raised on every change (iCalendar)."},
        },
    },
    "Venue": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "slug", "kind", "name", "address", "capacity", "community", "is_sample"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "kind": {
                "type": "string",
                "enum": ["liaison_centre", "neighbourhood_centre", "courtroom", "clinic_room", "other"],
            },
            "name": {"type": "string"},
            "address": {"type": "string"},
            "capacity": {"type": "integer", "minimum": 0},
            "community": {**NULLABLE_STRING, "description": "Community slug."},
            "is_sample": {"type": "boolean", "description": "Demonstration data, not a real record."},
        },
    },
    "Community": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "slug", "name", "subdistrict", "areas", "is_sample"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "subdistrict": {"$ref": "#/components/schemas/NamedPlace"},
            "areas": {
                "type": "array",
                "description": "Streets, residential compounds and landmarks the community serves.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "name", "name_zh", "name_en"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["street", "compound", "landmark"]},
                        "name": {"type": "string", "description": "In the requested language."},
                        "name_zh": {"type": "string"},
                        "name_en": {"type": "string"},
                    },
                },
            },
            "is_sample": {"type": "boolean"},
        },
    },
    "Me": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "email", "name", "role", "teams"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "coordinator", "volunteer", "official", "staff"]},
            "language": {"type": "string", "enum": ["zh_CN", "en"], "description": "Language of notifications."},
            "channels": {"$ref": "#/components/schemas/Channels"},
            "phone": {"type": "string"},
            "teams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "code", "name", "role"],
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "role": {"type": "string", "enum": ["member", "coordinator"]},
                        "member_number": {
                            "type": "string",
                            "description": "My number in the team, e.g. T001-007 (tells apart members of one name)",
                        },
                    },
                },
            },
        },
    },
    "Channels": {
        "type": "object",
        "additionalProperties": False,
        "description": "Where notifications go (SMS needs a phone).",
        "properties": {"email": {"type": "boolean"}, "sms": {"type": "boolean"}},
    },
    "MeChange": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "language": {"type": "string", "enum": ["zh_CN", "en"]},
            "channels": {"$ref": "#/components/schemas/Channels"},
            "phone": {"type": "string", "maxLength": 32},
        },
    },
    "Assignment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "shift_id", "volunteer_id", "volunteer_name", "status", "attendance"],
        "properties": {
            "id": {"type": "integer"},
            "shift_id": {"type": "integer"},
            "volunteer_id": {"type": "integer"},
            "volunteer_name": {"type": "string"},
            "member_number": {"type": "string", "description": "The member's number in the team, e.g. T001-007"},
            "status": {"type": "string", "enum": ["assigned", "dropped", "removed", "swapped"]},
            "attendance": {"type": "string", "enum": ["unknown", "present", "no_show"]},
        },
    },
    "Shift": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "team_id",
            "local_date",
            "starts_at",
            "ends_at",
            "area",
            "min_volunteers",
            "max_volunteers",
            "assigned_count",
            "status",
            "assignments",
        ],
        "properties": {
            "id": {"type": "integer"},
            "team_id": {"type": "integer"},
            "local_date": {"type": "string", "format": "date", "description": "The day the shift starts on."},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "area": {"type": "string"},
            "min_volunteers": {"type": "integer", "minimum": 0},
            "max_volunteers": {"type": "integer", "minimum": 1},
            "assigned_count": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
            "assignments": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Assignment"},
                "description": "Active assignments only.",
            },
        },
    },
    "NewAssignment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["volunteer_id"],
        "properties": {"volunteer_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
    },
    "ProgrammePage": _page_of("#/components/schemas/Programme"),
    "OccurrencePage": _page_of("#/components/schemas/Occurrence"),
    "VenuePage": _page_of("#/components/schemas/Venue"),
    "CommunityPage": _page_of("#/components/schemas/Community"),
    "ShiftPage": _page_of("#/components/schemas/Shift"),
}

BEARER = [{"bearerAuth": []}]

PATHS = {
    "/api/v1/programmes": {
        "get": {
            "operationId": "listProgrammes",
            "tags": ["public"],
            "summary": "Public programmes: contact days, holiday court, legal clinic (patrols are never public).",
            "parameters": [*PAGE_PARAMETERS, LANG_PARAMETER],
            "responses": {"200": _ok("A page of programmes.", "#/components/schemas/ProgrammePage"), **PUBLIC_ERRORS},
        }
    },
    "/api/v1/occurrences": {
        "get": {
            "operationId": "listOccurrences",
            "tags": ["public"],
            "summary": "Sessions residents can attend, in start order.",
            "parameters": [
                _query("programme", "Programme slug, e.g. contact-days.", SLUG),
                _query("community", "Community slug.", SLUG),
                *DATE_PARAMETERS,
                _query(
                    "language",
                    "`en`: only sessions with service in English.",
                    {"type": "string", "enum": ["en", "zh_CN"]},
                ),
                *PAGE_PARAMETERS,
                LANG_PARAMETER,
            ],
            "responses": {"200": _ok("A page of sessions.", "#/components/schemas/OccurrencePage"), **PUBLIC_ERRORS},
        }
    },
    "/api/v1/occurrences/{occurrence_id}": {
        "get": {
            "operationId": "getOccurrence",
            "tags": ["public"],
            "summary": "One session.",
            "parameters": [_id_parameter("occurrence_id", "Session id."), LANG_PARAMETER],
            "responses": {
                "200": _ok("The session.", "#/components/schemas/Occurrence"),
                "404": _error("No such public session."),
                **PUBLIC_ERRORS,
            },
        }
    },
    "/api/v1/venues": {
        "get": {
            "operationId": "listVenues",
            "tags": ["public"],
            "summary": "Venues: liaison centres, courtrooms, clinic rooms, halls.",
            "parameters": [
                _query("community", "Community slug.", SLUG),
                _query("kind", "Venue kind.", SCHEMAS["Venue"]["properties"]["kind"]),
                *PAGE_PARAMETERS,
                LANG_PARAMETER,
            ],
            "responses": {"200": _ok("A page of venues.", "#/components/schemas/VenuePage"), **PUBLIC_ERRORS},
        }
    },
    "/api/v1/communities": {
        "get": {
            "operationId": "listCommunities",
            "tags": ["public"],
            "summary": "Communities, by slug.",
            "parameters": [
                _query("subdistrict", "Subdistrict slug, e.g. loufeng.", SLUG),
                *PAGE_PARAMETERS,
                LANG_PARAMETER,
            ],
            "responses": {"200": _ok("A page of communities.", "#/components/schemas/CommunityPage"), **PUBLIC_ERRORS},
        }
    },
    "/api/v1/me": {
        "get": {
            "operationId": "getMe",
            "tags": ["coordinators"],
            "summary": "Who the token belongs to, and their teams.",
            "security": BEARER,
            "parameters": [LANG_PARAMETER],
            "responses": {
                "200": _ok("The token's owner.", "#/components/schemas/Me"),
                "400": TOKEN_ERRORS["400"],
                "401": TOKEN_ERRORS["401"],
                "503": TOKEN_ERRORS["503"],
            },
        },
        "patch": {
            "operationId": "updateMe",
            "tags": ["coordinators"],
            "summary": "Change my language of notifications, channels and phone.",
            "security": BEARER,
            "parameters": [LANG_PARAMETER],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MeChange"}}},
            },
            "responses": {
                "200": _ok("The token's owner, changed.", "#/components/schemas/Me"),
                **TOKEN_ERRORS,
            },
        },
    },
    "/api/v1/teams/{team_id}/shifts": {
        "get": {
            "operationId": "listTeamShifts",
            "tags": ["coordinators"],
            "summary": "A team's shifts with who is on each (the team's coordinators and admins).",
            "security": BEARER,
            "parameters": [_id_parameter("team_id", "Team id."), *DATE_PARAMETERS, *PAGE_PARAMETERS, LANG_PARAMETER],
            "responses": {"200": _ok("A page of shifts.", "#/components/schemas/ShiftPage"), **TOKEN_ERRORS},
        }
    },
    "/api/v1/shifts/{shift_id}/assignments": {
        "post": {
            "operationId": "assignVolunteer",
            "tags": ["coordinators"],
            "summary": "Put a volunteer on a shift, by the same rules as the roster page.",
            "security": BEARER,
            "parameters": [_id_parameter("shift_id", "Shift id."), LANG_PARAMETER],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewAssignment"}}},
            },
            "responses": {
                "201": _ok("The new assignment.", "#/components/schemas/Assignment"),
                **TOKEN_ERRORS,
                "409": _error("A rule says no: the shift is full, the volunteer is busy, not in the team..."),
                "422": _error("A rule says no about this request's content."),
            },
        }
    },
    "/api/v1/assignments/{assignment_id}": {
        "delete": {
            "operationId": "unassignVolunteer",
            "tags": ["coordinators"],
            "summary": "Take a volunteer off a shift, by the same rules as the roster page.",
            "security": BEARER,
            "parameters": [_id_parameter("assignment_id", "Assignment id."), LANG_PARAMETER],
            "responses": {
                "204": {"description": "Removed."},
                **TOKEN_ERRORS,
                "409": _error("A rule says no, e.g. the shift has already started."),
                "422": _error("A rule says no about this request's content."),
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "tags": ["meta"],
            "summary": "This document.",
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "SIP community schedules API",
        "version": "1.0.0",
        "description": (
            "Public sessions of the Suzhou Industrial Park contact days, holiday court and holiday legal clinic, "
            "and token-authenticated roster work for patrol coordinators. Times are Asia/Shanghai with offset. "
            'Every error has the body {"error": {"status", "code", "message"}}. '
            "Tokens: `flask --app app users api-token EMAIL`."
        ),
    },
    "servers": [{"url": "/"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal token from `users api-token`.",
            }
        },
    },
}


def document() -> dict:
    return copy.deepcopy(DOCUMENT)


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's spelling: /teams/<id:team_id>/shifts -> /teams/{team_id}/shifts."""
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


@functools.cache
def query_parameters(rule: str, method: str) -> frozenset[str]:
    """The query parameters the document declares for a route (HEAD as GET)."""
    method = "get" if method == "HEAD" else method.lower()
    operation = DOCUMENT["paths"].get(openapi_path(rule), {}).get(method, {})
    return frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


@bp.route("/openapi.json")
def openapi_json():
    response = jsonify(DOCUMENT)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
