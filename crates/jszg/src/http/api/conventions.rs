//! What every operation of the OpenAPI document shares, added in one place so the document
//! tells the truth about answers that come from layers rather than handlers: the session check,
//! the body limits and timeouts, cross-site refusal and overload (docs/hardening.md).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::Modify;

pub struct Conventions;

/// Who must be signed in for a path: an applicant (`jszg_session`), staff (`jszg_staff`) or a
/// business system (its client secret as a bearer token).
fn scheme_for(method: &str, path: &str) -> Option<&'static str> {
    if path.starts_with("/api/v1/service/") {
        Some("client_secret")
    } else if path.starts_with("/api/v1/staff/") && !path.starts_with("/api/v1/staff/sessions") {
        Some("staff_session")
    } else if path.starts_with("/api/v1/me") || path.starts_with("/api/v1/entries/") {
        Some("applicant_session")
    } else {
        let _ = method;
        None
    }
}

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

/// Add `status` unless the operation documents it already (its own words win).
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description));
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        // The session cookies are not declared as security schemes: they are set by the login
        // answers, and a client (or schemathesis) sending them as API keys would be testing
        // something the browser never does. Their 401 is documented below.
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("client_secret", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));

        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                if let Some(scheme) = scheme_for(method, path) {
                    if scheme == "client_secret" {
                        op.security = Some(vec![SecurityRequirement::new::<_, _, &str>(scheme, [])]);
                    }
                    let why = match scheme {
                        "client_secret" => "unauthorized: missing or wrong client secret",
                        _ => "not_logged_in: no valid session (expired, logged out, or the other kind of session)",
                    };
                    add(op, "401", why);
                }
                if path.starts_with("/api/v1/recoveries/{id}") {
                    add(op, "410", "recovery_expired: the recovery is unknown or started more than 30 minutes ago");
                }
                if method != "get" {
                    add(op, "403", "csrf: a cross-site request carrying a cookie, or a cross-site login");
                }
                let has_query = op.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
                if has_query {
                    add(op, "422", "invalid_request: a query parameter of another type or value than documented");
                }
                if op.request_body.is_some() {
                    add(op, "408", "request_timeout: the body did not arrive within the body timeout");
                    add(op, "413", "payload_too_large: the body is over the route's limit");
                    add(op, "422", "invalid_request: the body is not what the operation reads");
                }
                add(op, "503", "server_busy: too many connections, or every password worker busy with a full queue");
            }
        }
    }
}
