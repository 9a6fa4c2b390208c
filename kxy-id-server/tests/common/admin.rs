//! One method per admin endpoint, so tests read as the steps they take. Each returns the
//! response body; tests that care about the HTTP status use [`TestServer::call`].

use serde_json::{Value, json};

use super::TestServer;

impl TestServer {
    /// `POST /api/auth/init-user`.
    pub async fn init_user(&self, username: &str, password: &str) -> Value {
        self.init_user_status(username, password).await.1
    }

    /// `POST /api/auth/init-user`, for tests that check the HTTP status too.
    pub async fn init_user_status(&self, username: &str, password: &str) -> (u16, Value) {
        let creds = json!({"username": username, "password": password});
        self.call("POST", "/api/auth/init-user", Some(creds), None)
            .await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let creds = json!({"username": username, "password": password});
        self.call("POST", "/api/auth/login", Some(creds), None)
            .await
            .1
    }

    /// `GET /api/database/list`.
    pub async fn list_databases(&self, token: &str) -> Value {
        self.as_admin(token, "GET", "/api/database/list".into(), None)
            .await
    }

    /// `GET /api/database/{guid}`.
    pub async fn get_database(&self, token: &str, guid: &str) -> Value {
        self.as_admin(token, "GET", format!("/api/database/{guid}"), None)
            .await
    }

    /// `PUT /api/database/{guid}`.
    pub async fn update_database(&self, token: &str, guid: &str, request: Value) -> Value {
        self.as_admin(token, "PUT", format!("/api/database/{guid}"), Some(request))
            .await
    }

    /// `DELETE /api/database/{guid_and_query}` (a query such as `?purge_segments=true` may
    /// follow the guid).
    pub async fn delete_database(&self, token: &str, guid_and_query: &str) -> Value {
        self.as_admin(
            token,
            "DELETE",
            format!("/api/database/{guid_and_query}"),
            None,
        )
        .await
    }

    /// `POST /api/database/{guid}/add-config`.
    pub async fn add_config(&self, token: &str, guid: &str, request: Value) -> Value {
        self.as_admin(
            token,
            "POST",
            format!("/api/database/{guid}/add-config"),
            Some(request),
        )
        .await
    }

    /// `POST /api/database/initialize/{guid}`.
    pub async fn initialize(&self, token: &str, guid: &str) -> Value {
        self.as_admin(
            token,
            "POST",
            format!("/api/database/initialize/{guid}"),
            None,
        )
        .await
    }

    /// `GET /api/database/{guid}/discovered-tables`.
    pub async fn discovered(&self, token: &str, guid: &str) -> Value {
        self.as_admin(
            token,
            "GET",
            format!("/api/database/{guid}/discovered-tables"),
            None,
        )
        .await
    }

    /// `POST /api/database/{guid}/approve`.
    pub async fn approve(&self, token: &str, guid: &str, request: Value) -> Value {
        self.as_admin(
            token,
            "POST",
            format!("/api/database/{guid}/approve"),
            Some(request),
        )
        .await
    }

    /// `GET /api/segment/counters?{query}`.
    pub async fn counters(&self, token: &str, query: &str) -> Value {
        self.as_admin(token, "GET", format!("/api/segment/counters?{query}"), None)
            .await
    }

    /// `method path` with the admin's `token`; the response body.
    async fn as_admin(
        &self,
        token: &str,
        method: &str,
        path: String,
        body: Option<Value>,
    ) -> Value {
        self.call(method, &path, body, Some(token)).await.1
    }
}
