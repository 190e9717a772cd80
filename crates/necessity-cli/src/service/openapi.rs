//! The OpenAPI 3.1 document served at `/openapi.json`. The request schema is the case model's
//! own JSON Schema (its definitions moved under `components/schemas`), so it cannot drift.

use serde_json::{Value, json};

/// Rewrites `#/$defs/X` references to `#/components/schemas/X`.
fn rehome(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{name}");
            }
            for v in map.values_mut() {
                rehome(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rehome),
        _ => {}
    }
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// The whole document.
#[must_use]
pub fn document() -> Value {
    let mut request = necessity_case::json_schema();
    rehome(&mut request);
    let mut schemas = request.get("$defs").cloned().unwrap_or_else(|| json!({}));
    if let Some(obj) = request.as_object_mut() {
        obj.remove("$defs");
        obj.remove("$schema");
    }
    if let Some(map) = schemas.as_object_mut() {
        map.insert("Request".into(), request);
        map.insert(
            "Problem".into(),
            json!({
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                    "detail": { "type": "string" },
                    "errors": { "type": "array", "items": { "type": "object", "required": ["path", "message"],
                        "properties": { "path": { "type": "string" }, "message": { "type": "string" } } } }
                }
            }),
        );
        map.insert(
            "Determination".into(),
            json!({ "type": "object", "description": "See docs/determination.md: decision, lines with reasons and criteria trees, questions, advisories, pack and case hash.",
                    "required": ["format", "decision", "lines"],
                    "properties": { "format": { "type": "integer" }, "decision": { "type": "string",
                        "enum": ["meets_criteria", "pend_for_information", "does_not_meet_criteria", "notification_only", "out_of_scope"] } } }),
        );
        map.insert(
            "Submission".into(),
            json!({ "type": "object", "required": ["id", "created_at", "determination"],
                    "properties": { "id": { "type": "string" }, "created_at": { "type": "string" },
                                    "determination": { "$ref": "#/components/schemas/Determination" } } }),
        );
        map.insert(
            "ReviewRequest".into(),
            json!({ "type": "object", "additionalProperties": false, "required": ["reviewer", "decision"],
                    "properties": {
                        "reviewer": { "type": "object", "additionalProperties": false, "required": ["name", "npi", "role"],
                            "properties": { "name": { "type": "string" }, "npi": { "type": "string", "pattern": "^[0-9]{10}$" }, "role": { "type": "string" } } },
                        "decision": { "type": "string", "enum": ["approve", "deny", "modify"] },
                        "reason": { "type": "string", "description": "Required to deny or modify." } } }),
        );
    }
    let secured = json!([{ "apiKey": [] }]);
    let common = |extra: Value| {
        let mut responses = json!({
            "401": problem("no or unknown API key"),
            "403": problem("the key's role may not do this"),
            "503": problem("the database did not answer; nothing was stored"),
        });
        if let (Some(r), Some(e)) = (responses.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        responses
    };
    let id_param =
        |name: &str| json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "necessity decision service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Medical-necessity determinations for interventional pain procedures. It recommends; it never denies: a denial exists only as a human review."
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer", "description": "A key from `necessity keys create`." } }
        },
        "security": secured,
        "paths": {
            "/v1/health": { "get": { "summary": "Health check (no key needed)", "security": [],
                "responses": { "200": ok("the service and its database answer", json!({ "type": "object" })), "503": problem("the database does not answer") } } },
            "/v1/packs": { "get": { "summary": "Installed pack versions and their effective ranges",
                "responses": common(json!({ "200": ok("the packs", json!({ "type": "object" })) })) } },
            "/v1/determinations": { "post": {
                "summary": "Submit a request: evaluate it, store the determination, return it (a meets_criteria determination becomes an authorized procedure in the member's history)",
                "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 200 },
                                 "description": "A retry with the same key and body returns the original response; another body is 422; a key still in flight is 409." }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Request" } } } },
                "responses": common(json!({
                    "201": ok("stored", json!({ "$ref": "#/components/schemas/Submission" })),
                    "409": problem("a submission with this Idempotency-Key is in flight"),
                    "413": problem("the body is too large"),
                    "422": problem("the request is not valid (errors name the field), or the Idempotency-Key was used with another body")
                })) } },
            "/v1/evaluations": { "post": { "summary": "Evaluate without storing (a provider's what-if), against the member's stored history",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Request" } } } },
                "responses": common(json!({ "200": ok("the determination", json!({ "$ref": "#/components/schemas/Determination" })),
                                            "413": problem("the body is too large"), "422": problem("the request is not valid") })) } },
            "/v1/determinations/{id}": { "get": { "summary": "A stored determination with its reviews", "parameters": id_param("id"),
                "responses": common(json!({ "200": ok("the determination", json!({ "type": "object" })), "404": problem("no such determination (or another organisation's)") })) } },
            "/v1/determinations/{id}/reviews": { "post": { "summary": "Record a physician's review: approve, deny (reason required) or modify (reason required)",
                "parameters": id_param("id"),
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ReviewRequest" } } } },
                "responses": common(json!({ "201": ok("the review", json!({ "type": "object" })), "404": problem("no such determination"), "422": problem("the review is not valid") })) } },
            "/v1/members/{member_id}/determinations": { "get": { "summary": "A member's determinations (a submitter sees its own organisation's)", "parameters": id_param("member_id"),
                "responses": common(json!({ "200": ok("the list", json!({ "type": "object" })) })) } },
            "/v1/members/{member_id}/history": {
                "get": { "summary": "A member's procedure history (reviewers, administrators)", "parameters": id_param("member_id"),
                    "responses": common(json!({ "200": ok("the history", json!({ "type": "object" })) })) },
                "post": { "summary": "Import claims history: one prior procedure per line (NDJSON), all or nothing (administrators)", "parameters": id_param("member_id"),
                    "requestBody": { "required": true, "content": { "application/x-ndjson": { "schema": { "type": "string" } } } },
                    "responses": common(json!({ "200": ok("how many were imported", json!({ "type": "object" })), "413": problem("the body is too large"), "422": problem("a line is not valid (errors name the line and field)") })) } }
        }
    })
}
