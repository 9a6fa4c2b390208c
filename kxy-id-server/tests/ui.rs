//! The admin UI: how the server serves it, and the whole flow in a real (headless) Chromium
//! against an in-process server and a real MariaDB.
//!
//! The browser test saves a screenshot of every page under `target/ui-screenshots/`.

mod common;

use std::path::PathBuf;

use common::business::mysql_tables;
use common::webdriver::{Browser, ENTER, ESCAPE};
use common::{TestServer, assert_unknown_paths_are_404s, settings};
use kxy_id::testing::TestDatabase;
use serde_json::json;

#[tokio::test]
async fn the_ui_is_served_with_its_types_and_cache_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;

    // The page, at / and at every client-side route.
    for path in [
        "/",
        "/login",
        "/databases",
        "/databases/7d3c5e8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "/counters?system=shop",
    ] {
        let (status, headers, body) = server.get_raw(path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        let html = std::str::from_utf8(&body).unwrap();
        assert!(html.contains(r#"<script type="module" src="/ui/app.js">"#));
    }

    // Assets: their types, an ETag, and 304 when the browser already has them.
    for (path, content_type) in [
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/api.js", "text/javascript; charset=utf-8"),
        ("/ui/dom.js", "text/javascript; charset=utf-8"),
        ("/ui/style.css", "text/css; charset=utf-8"),
        ("/ui/favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = server.get_raw(path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert!(!body.is_empty());
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let (status, headers, body) = server
            .get_raw(path, &[("if-none-match", etag.as_str())])
            .await;
        assert_eq!(status, 304, "{path}");
        assert_eq!(headers["etag"], etag.as_str());
        assert!(body.is_empty());
        let (status, _, _) = server.get_raw(path, &[("if-none-match", "\"0000\"")]).await;
        assert_eq!(status, 200, "{path} with a stale ETag");
    }

    // Unknown assets, and anything under /api/, stay 404s; the API routes are untouched.
    let (status, _, body) = server.get_raw("/ui/missing.js", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(&body[..], br#"{"detail":"Not Found"}"#);
    assert_unknown_paths_are_404s(&server).await;
    let (status, body) = server.call("GET", "/health", None, None).await;
    assert_eq!((status, &body["data"]["status"]), (200, &json!("healthy")));
    let (_, headers, _) = server.get_raw("/openapi.json", &[]).await;
    assert_eq!(headers["content-type"], "application/json");
    server.stop().await;
}

/// Saves a screenshot without the passing toasts (they would cover the page).
async fn snap(b: &Browser, path: &std::path::Path, full_page: bool) {
    b.script(
        "document.getElementById('toasts').replaceChildren()",
        json!([]),
    )
    .await;
    b.screenshot(path, full_page).await;
}

/// Where the screenshots go: `target/ui-screenshots/` next to the test binary's profile.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/ui-<hash>
    let target = exe
        .ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("ui-screenshots")
}

/// The usual business tables, and `t_user` with an unsigned key.
async fn mysql_fixture(db: &TestDatabase) {
    mysql_tables(
        db,
        &[
            "CREATE TABLE t_user (id INT UNSIGNED PRIMARY KEY)",
            "INSERT INTO t_user VALUES (77)",
        ],
    )
    .await;
}

/// A MariaDB account with a password for the test database, so that "an empty password on
/// edit keeps the stored one" is really checked. Falls back to the server URL's account
/// when it cannot create one.
async fn database_account(db: &TestDatabase) -> (String, String, Option<String>) {
    use sqlx::Connection;
    let url = db.server_url.trim_start_matches("mysql://");
    let (userinfo, _) = url.rsplit_once('@').unwrap_or(("root", url));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let name = format!("kxy_ui_{}", &db.name[db.name.len().saturating_sub(10)..]);
    let secret = "Ui-test-pw_7";
    let mut conn = sqlx::MySqlConnection::connect(&db.server_url)
        .await
        .expect("connect to MySQL");
    let mut created = true;
    for host in ["%", "localhost", "127.0.0.1"] {
        for sql in [
            format!("CREATE USER IF NOT EXISTS '{name}'@'{host}' IDENTIFIED BY '{secret}'"),
            format!(
                "GRANT ALL PRIVILEGES ON `{}`.* TO '{name}'@'{host}'",
                db.name
            ),
        ] {
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
            {
                eprintln!("NOTICE: cannot create a MySQL account ({e}); using {user}");
                created = false;
            }
        }
    }
    let _ = conn.close().await;
    if created {
        (name.clone(), secret.to_owned(), Some(name))
    } else {
        (user.to_owned(), password.to_owned(), None)
    }
}

async fn drop_account(db: &TestDatabase, name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::MySqlConnection::connect(&db.server_url).await {
        for host in ["%", "localhost", "127.0.0.1"] {
            let sql = format!("DROP USER IF EXISTS '{name}'@'{host}'");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await;
        }
        let _ = conn.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_ui_walkthrough_in_headless_chromium() {
    let Some(b) = Browser::launch(1280, 900).await else {
        return;
    };
    let Some(db) = TestDatabase::mysql().await else {
        b.quit().await;
        return;
    };
    mysql_fixture(&db).await;
    let (user, password, account) = database_account(&db).await;
    let address = {
        let url = db.server_url.trim_start_matches("mysql://");
        let host = url.rsplit_once('@').map_or(url, |(_, h)| h);
        host.trim_end_matches('/').to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let base = format!("http://{}", server.addr);
    let shots = screenshot_dir();
    let shot = |name: &str| shots.join(format!("{name}.png"));
    let name = db.name.as_str();

    // First run: no administrator yet, so the page offers to create one.
    b.goto(&format!("{base}/")).await;
    b.wait_text("#setup-form", "Create the administrator").await;
    assert!(b.location().await.starts_with("/login"));
    snap(&b, &shot("01-first-run"), false).await;
    b.type_into("#setup-username", "admin").await;
    b.type_into("#setup-password", "secret123").await;
    b.type_into("#setup-confirm", &format!("secret124{ENTER}"))
        .await;
    b.wait_text("#setup-confirm-error", "The passwords differ")
        .await;
    b.type_into("#setup-confirm", &format!("secret123{ENTER}"))
        .await;
    b.wait_text("#login-form", "Administrator admin created")
        .await;

    // A wrong password shows the server's message; the right one opens the databases.
    assert_eq!(b.property("#login-username", "value").await, "admin");
    b.type_into("#login-password", &format!("not-the-password{ENTER}"))
        .await;
    b.wait_text("#login-form .alert-error", "Invalid username or password")
        .await;
    snap(&b, &shot("02-login-wrong-password"), false).await;
    b.type_into("#login-password", &format!("secret123{ENTER}"))
        .await;
    b.wait_text("main h1", "Databases").await;
    b.wait_text("main", "No databases yet").await;
    assert_eq!(b.location().await, "/databases");
    assert_eq!(b.text("#current-user").await, "admin");

    // Add the database: the form checks the address like the API does.
    b.click("#add-database").await;
    b.wait_for("#database-form").await;
    b.type_into("#db-system_code", "Shop").await;
    b.type_into("#db-db_address", "127.0.0.1:99999").await;
    b.type_into("#db-db_user", &user).await;
    b.type_into("#db-db_password", &password).await;
    b.type_into("#db-db_name", name).await;
    b.click("#database-save").await;
    b.wait_text(
        "#db-db_address-error",
        "The port must be a number from 1 to 65535",
    )
    .await;
    b.type_into("#db-db_address", &address).await;
    snap(&b, &shot("03-add-database"), false).await;
    // A double click adds it once.
    b.script(
        "const s = document.querySelector('#database-save'); s.click(); s.click();",
        json!([]),
    )
    .await;
    b.wait_gone("#database-form").await;
    b.wait_for("#databases-table tr[data-guid]").await;
    assert_eq!(b.count("#databases-table tr[data-guid]").await, 1);
    assert_eq!(
        server.state.service.list_databases().await.unwrap().len(),
        1
    );
    let row = b.text("#databases-table tr[data-guid]").await;
    assert!(
        row.contains("Shop") && row.contains(&address) && row.contains(name),
        "{row}"
    );

    // Initialize: the report lists what was set and what was skipped, and why.
    b.click("tr[data-guid] [data-action=initialize]").await;
    b.wait_text("#confirm-dialog", "Counters never move backwards")
        .await;
    b.click("#confirm-ok").await;
    let skipped = b.wait_text("#report-skipped", "tp_keycloak_account").await;
    let keycloak = b
        .text("#report-skipped tr[data-table=tp_keycloak_account]")
        .await;
    assert!(keycloak.to_lowercase().contains("varchar"), "{keycloak}");
    assert!(skipped.contains("t_log"), "{skipped}");
    let set = b.text("#report-set").await;
    assert!(
        set.contains(&format!("shop:{name}:t_order:id")) && set.contains("1234"),
        "{set}"
    );
    assert!(b.text("#report-errors").await.contains("None."));
    snap(&b, &shot("04-initialize-report"), false).await;
    // Escape closes the dialog.
    b.press("#init-report .dialog-foot button", ESCAPE).await;
    b.wait_gone("#init-report").await;
    snap(&b, &shot("05-databases"), true).await;

    // The database's page: a custom sequence past 2^53, shown exactly.
    b.click("tr[data-guid] [data-action=view]").await;
    b.wait_text("main h1", &format!("Shop · {name}")).await;
    b.type_into("#seq-table", "invoice").await;
    b.type_into("#seq-field", "number").await;
    b.type_into("#seq-initial", &format!("9007199254740993{ENTER}"))
        .await;
    b.wait_text(
        "#custom-form .alert-success",
        &format!("shop:{name}:invoice:number at 9007199254740993"),
    )
    .await;
    let invoice_key = format!("shop:{name}:invoice:number");
    let cell = format!("#db-counters-table tr[data-key='{invoice_key}'] .value");
    b.wait_text(&cell, "9007199254740993").await;
    // Allocating moves it on, still exact.
    let body = server.allocate("shop", name, "invoice", "number", 10).await;
    assert_eq!(body["data"]["end"], "9007199254741003", "{body}");

    // New tables appear; the scanner discovers them; approve one, then all.
    db.execute_mysql(&[
        "CREATE TABLE t_invoice (id INT PRIMARY KEY)".into(),
        "INSERT INTO t_invoice VALUES (5), (7)".into(),
        "CREATE TABLE t_refund (id BIGINT PRIMARY KEY)".into(),
        "CREATE TABLE t_coupon (code SMALLINT PRIMARY KEY)".into(),
        "INSERT INTO t_coupon VALUES (3)".into(),
    ])
    .await;
    let summary = server.state.service.scan_once().await.unwrap();
    assert_eq!(summary.discovered, 3, "{summary:?}");
    b.click("#refresh-discovered").await;
    b.wait_for("#discovered-table tr[data-table=t_invoice]")
        .await;
    assert_eq!(b.count("#discovered-table tbody tr").await, 3);
    snap(&b, &shot("06-database"), true).await;
    b.click("#discovered-table tr[data-table=t_invoice] [data-action=approve]")
        .await;
    b.wait_gone("#discovered-table tr[data-table=t_invoice]")
        .await;
    b.wait_text(
        &format!("#db-counters-table tr[data-key='shop:{name}:t_invoice:id'] .value"),
        "7",
    )
    .await;
    b.click("#approve-all").await;
    b.wait_text("#discovered", "No tables waiting").await;
    b.wait_text(
        &format!("#db-counters-table tr[data-key='shop:{name}:t_coupon:code'] .value"),
        "3",
    )
    .await;
    assert_eq!(
        b.text(&format!(
            "#db-counters-table tr[data-key='shop:{name}:t_refund:id'] .value"
        ))
        .await,
        "0"
    );

    // Counters: every key, filters by system, database and table.
    b.click("[data-nav=counters]").await;
    let cell = format!("#counters-table tr[data-key='{invoice_key}'] .value");
    assert_eq!(b.wait_text(&cell, "9007").await, "9007199254741003");
    assert_eq!(b.count("#counters-table tbody tr").await, 6);
    b.type_into("#filter-table", "t_").await;
    b.wait_text(".summary", "5 of 6 counters").await;
    assert_eq!(
        b.count(&format!("#counters-table tr[data-key='{invoice_key}']"))
            .await,
        0
    );
    assert!(b.location().await.contains("table=t_"));
    b.type_into("#filter-table", "").await;
    b.type_into("#filter-system", "shop").await;
    b.type_into("#filter-db", &format!("{name}{ENTER}")).await;
    b.wait_text(".summary", "6 counters").await;
    b.type_into("#filter-system", &format!("nobody{ENTER}"))
        .await;
    b.wait_text("#counters-table, .card-flush", "No counter")
        .await;
    b.click("#filter-clear").await;
    b.wait_text(".summary", "6 counters").await;
    snap(&b, &shot("07-counters"), true).await;

    // Allocation tokens: created for a system code, shown once, listed without the token,
    // revoked.
    b.click("[data-nav=tokens]").await;
    b.wait_text("main", "No allocation tokens").await;
    b.type_into("#token-system", &format!("Shop{ENTER}")).await;
    let shown = b.wait_text("#new-token", "kxy_").await;
    assert!(shown.contains("not shown again"), "{shown}");
    assert_eq!(b.count("#tokens-table tbody tr").await, 1);
    assert!(!b.text("#tokens-table").await.contains("kxy_"));
    b.click("#tokens-table [data-action=revoke]").await;
    b.click("#confirm-ok").await;
    b.wait_text("main", "No allocation tokens").await;

    // Edit: the password is never shown; leaving it empty keeps the stored one.
    b.click("[data-nav=databases]").await;
    b.click("tr[data-guid] [data-action=edit]").await;
    b.wait_for("#database-form").await;
    assert_eq!(b.property("#db-db_password", "value").await, "");
    assert_eq!(b.property("#db-system_code", "value").await, "Shop");
    b.wait_text(
        "#db-db_password-hint",
        "Leave empty to keep the stored password",
    )
    .await;
    b.type_into("#db-system_code", "shop").await;
    // Same keys (they are lower-case): no warning about renaming.
    assert_eq!(b.count("#rename-warning:not([hidden])").await, 0);
    snap(&b, &shot("08-edit-database"), false).await;
    b.press("#db-db_name", ENTER).await;
    b.wait_gone("#database-form").await;
    b.wait_text("#databases-table", "shop").await;
    b.click("tr[data-guid] [data-action=initialize]").await;
    b.click("#confirm-ok").await;
    b.wait_text("#report-ahead", &format!("shop:{name}:t_order:id"))
        .await;
    assert!(b.text("#report-errors").await.contains("None."));
    b.press("#init-report .dialog-foot button", ESCAPE).await;
    b.wait_gone("#init-report").await;

    // A database that is down: the server's message stays in the dialog.
    let token = server.admin_token().await;
    let down = json!({"system_code": "zz-down", "db_type": "mysql", "db_address": "127.0.0.1:1",
                      "db_user": "u", "db_password": "p", "db_name": "d"});
    let (_, body) = server
        .call("POST", "/api/database/add", Some(down), Some(&token))
        .await;
    let down_guid = body["data"]["guid"].as_str().unwrap().to_owned();
    b.goto(&format!("{base}/databases/{down_guid}")).await;
    b.click("[data-action=initialize]").await;
    b.click("#confirm-ok").await;
    b.wait_text(
        "#confirm-dialog .alert-error",
        "Failed to initialize database",
    )
    .await;
    b.press("#confirm-ok", ESCAPE).await;
    b.wait_gone("#confirm-dialog").await;
    server
        .call(
            "DELETE",
            &format!("/api/database/{down_guid}"),
            None,
            Some(&token),
        )
        .await;
    b.click("[data-nav=databases]").await;
    b.wait_for("#databases-table").await;
    assert_eq!(b.count("#databases-table tr[data-guid]").await, 1);

    // A narrow window: same pages, nothing wider than the window.
    b.set_window(400, 860).await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    b.wait_for("#databases-table").await;
    assert_eq!(b.script(fits, json!([])).await, true, "databases at 400 px");
    snap(&b, &shot("09-narrow-databases"), true).await;
    b.click("tr[data-guid] [data-action=view]").await;
    b.wait_for("#db-counters-table").await;
    assert_eq!(b.script(fits, json!([])).await, true, "database at 400 px");
    snap(&b, &shot("10-narrow-database"), true).await;
    b.click("[data-nav=counters]").await;
    b.wait_for("#counters-table").await;
    assert_eq!(b.script(fits, json!([])).await, true, "counters at 400 px");
    snap(&b, &shot("11-narrow-counters"), true).await;
    b.set_window(1280, 900).await;

    // A rejected token goes back to the login page with a message, then back to the page.
    b.script(
        "localStorage.setItem('kxy-id.token', 'not-a-valid-token')",
        json!([]),
    )
    .await;
    b.goto(&format!("{base}/counters")).await;
    b.wait_text("#login-form", "expired or was rejected").await;
    assert_eq!(b.location().await, "/login?next=%2Fcounters");
    snap(&b, &shot("12-session-ended"), false).await;
    b.type_into("#login-password", &format!("secret123{ENTER}"))
        .await;
    b.wait_for("#counters-table").await;
    assert_eq!(b.location().await, "/counters");

    // Delete, with the explicit choice to purge the counters too.
    b.click("[data-nav=databases]").await;
    b.click("tr[data-guid] [data-action=delete]").await;
    b.wait_text("#confirm-dialog", "Also purge its counters")
        .await;
    assert_eq!(b.property("#confirm-check", "checked").await, false);
    b.click("#confirm-check").await;
    snap(&b, &shot("13-delete"), false).await;
    b.click("#confirm-ok").await;
    b.wait_text("main", "No databases yet").await;
    let left = server
        .state
        .service
        .counters(Some("shop"), Some(name))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    // Log out.
    b.click("#logout").await;
    b.wait_text("#login-form", "You have logged out").await;
    assert_eq!(
        b.script("return localStorage.getItem('kxy-id.token')", json!([]))
            .await,
        json!(null)
    );

    b.quit().await;
    server.stop().await;
    if let Some(account) = account {
        drop_account(&db, &account).await;
    }
    db.drop_mysql().await;
    eprintln!("screenshots: {}", shots.display());
}
