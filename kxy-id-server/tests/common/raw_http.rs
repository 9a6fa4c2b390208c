//! A minimal HTTP/1.1 client over `std::net`, for tests that drive a server process: keep-alive
//! connections for the chaos load, one-shot calls for the admin API. Responses of the server
//! always carry `Content-Length`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// One keep-alive connection to a server.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr` (`host:port`); `timeout` bounds the connect and every read.
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Conn> {
        let target = addr
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: {e}")))?;
        let stream = TcpStream::connect_timeout(&target, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one request and reads its response: the HTTP status and the JSON body
    /// (`Value::Null` when the body is not JSON).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
        close: bool,
    ) -> io::Result<(u16, Value)> {
        let body = body.unwrap_or("");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let connection = if close { "close" } else { "keep-alive" };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: chaos\r\nConnection: {connection}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        let status: u16 = status_line
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad status line {status_line:?}"),
                )
            })?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the headers",
                ));
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0; length];
        self.reader.read_exact(&mut buf)?;
        Ok((status, serde_json::from_slice(&buf).unwrap_or(Value::Null)))
    }
}

/// One request on a fresh connection (`Connection: close`), for the admin API.
pub fn call(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> io::Result<(u16, Value)> {
    let mut conn = Conn::connect(addr, Duration::from_secs(30))?;
    let body = body.map(Value::to_string);
    conn.request(method, path, body.as_deref(), token, true)
}

/// An admin API call that must succeed (HTTP 200, code 0); its `data`.
pub fn admin_call(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Value {
    let (status, body) = call(addr, method, path, body, token)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"));
    assert!(
        status == 200 && body["code"] == 0,
        "{method} {path} on {addr}: {status} {body}"
    );
    body["data"].clone()
}

/// An integer of a response: a JSON number, or a decimal string (the server writes integers
/// past 2^53 as strings).
pub fn int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}
