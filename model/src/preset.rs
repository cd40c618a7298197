//! Presets: failure modes by name (`preset = "jdbc"`), each with its own match keys.
//!
//! A preset is a catalogue entry: the keys a user writes (`sql`, `path`, `host`...), the fault
//! kinds it takes, and the methods of the technology's public API it hooks. The agent hooks
//! those methods like any target; the hook's Java side (`io.faultline.boot.presets`) reads
//! the call (the SQL of a statement, the path of a request) and compares it with the keys.
//! Hooking the stable public API rather than one library's internals is what lets one preset
//! serve every implementation (every JDBC driver, every servlet container).

use std::collections::BTreeMap;
use std::fmt;

use crate::target::TargetPattern;

/// What a key's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// A Java regular expression, found anywhere in the value (anchor it with `^` and `$`);
    /// compiled by the agent before anything is armed.
    Regex,
    /// `*` any run of characters, `?` one character; the whole value must match.
    Glob,
    /// One of the words, written in lower case.
    OneOf(&'static [&'static str]),
    /// An HTTP method token (`GET`, `POST`...), compared without regard to case.
    HttpMethod,
    /// A TCP port, 1..=65535.
    Port,
}

impl KeyForm {
    /// Describes the form for messages and `faultline presets`.
    pub fn describe(&self) -> String {
        match self {
            KeyForm::Regex => "a regular expression (Java syntax), found anywhere in the value".into(),
            KeyForm::Glob => "a glob: * any run of characters, ? one character".into(),
            KeyForm::OneOf(words) => format!("one of {}", words.join(", ")),
            KeyForm::HttpMethod => "an HTTP method such as GET or POST".into(),
            KeyForm::Port => "a port number, 1..65535".into(),
        }
    }
}

/// One key a preset takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetKey {
    pub name: &'static str,
    pub form: KeyForm,
    /// What the key is compared with, for `faultline presets`.
    pub about: &'static str,
    pub example: &'static str,
}

/// A symbolic value of `throw` that a preset maps to each library's own exception type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrowName {
    pub name: &'static str,
    pub about: &'static str,
}

/// The status codes a respond fault of a preset answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statuses {
    /// The preset takes no respond faults.
    None,
    /// HTTP, 100..=599.
    Http,
    /// gRPC, by name (`UNAVAILABLE`) or number (1..=16).
    Grpc,
}

/// The gRPC status codes, by number (0, OK, is no failure and is not among them).
pub const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

impl Statuses {
    /// A status as written (a TOML integer or string) checked and made a number.
    pub fn parse(self, value: &toml::Value) -> Result<u16, String> {
        match (self, value) {
            (Statuses::Http, toml::Value::Integer(n)) => match u16::try_from(*n) {
                Ok(code @ 100..=599) => Ok(code),
                _ => Err(format!("{n} is not an HTTP status; expected 100 to 599")),
            },
            (Statuses::Http, _) => Err("expected an HTTP status code, e.g. 503".into()),
            (Statuses::Grpc, toml::Value::Integer(n)) => match u16::try_from(*n) {
                Ok(code @ 1..=16) => Ok(code),
                _ => Err(format!("{n} is not a gRPC status; expected 1 to 16 or a name such as \"UNAVAILABLE\"")),
            },
            (Statuses::Grpc, toml::Value::String(name)) => {
                let upper = name.trim().to_ascii_uppercase();
                match GRPC_CODES.iter().position(|c| *c == upper) {
                    Some(code @ 1..) => Ok(code as u16),
                    _ => Err(format!(
                        "{name:?} is not a gRPC status{}; expected one of {}",
                        crate::spelling::suggestion(&upper, &GRPC_CODES[1..]),
                        GRPC_CODES[1..].join(", ")
                    )),
                }
            }
            (Statuses::Grpc, _) => Err("expected a gRPC status name such as \"UNAVAILABLE\"".into()),
            (Statuses::None, _) => Err("this preset answers nothing".into()),
        }
    }

    /// A status as scenario text writes it back: a number, or a gRPC name.
    pub fn to_toml(self, code: u16) -> String {
        match self {
            Statuses::Grpc => format!("{:?}", GRPC_CODES.get(code as usize).copied().unwrap_or("UNKNOWN")),
            _ => code.to_string(),
        }
    }

    /// A status as people read it: `503`, `UNAVAILABLE`.
    pub fn show(self, code: u16) -> String {
        match self {
            Statuses::Grpc => GRPC_CODES.get(code as usize).copied().unwrap_or("UNKNOWN").to_string(),
            _ => code.to_string(),
        }
    }
}

/// One preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub about: &'static str,
    pub keys: &'static [PresetKey],
    /// The fault kinds it takes, the first being the usual one.
    pub kinds: &'static [&'static str],
    /// The exception thrown when an exception fault gives no `throw` (empty for presets that
    /// take no exception faults).
    pub default_throw: &'static str,
    /// Values of `throw` besides class names.
    pub throw_names: &'static [ThrowName],
    /// What `status` means for `kind = "respond"`.
    pub statuses: Statuses,
    /// The methods it hooks. Each is called at entry, at exit and when the call throws: the
    /// preset acts at entry, reads what some calls return (the statement a
    /// `prepareStatement` built), and counts a call a library makes inside another as one.
    pub hooks: &'static [&'static str],
    /// The libraries and servers the test suite runs it against.
    pub tested_with: &'static [&'static str],
}

const SQL: PresetKey = PresetKey {
    name: "sql",
    form: KeyForm::Regex,
    about: "the statement's SQL (prepared statements too)",
    example: r"(?i)^\s*update\s+orders\b",
};
const OPERATION: PresetKey = PresetKey {
    name: "operation",
    form: KeyForm::OneOf(&["select", "insert", "update", "delete", "other"]),
    about: "the statement's first SQL word (other: anything else, DDL and CALL included)",
    example: "update",
};
const JDBC_URL: PresetKey = PresetKey {
    name: "url",
    form: KeyForm::Glob,
    about: "the connection's JDBC URL",
    example: "jdbc:postgresql://*/shop*",
};
const PATH: PresetKey = PresetKey {
    name: "path",
    form: KeyForm::Glob,
    about: "the request path, without the query string",
    example: "/checkout*",
};
const HTTP_METHOD: PresetKey =
    PresetKey { name: "method", form: KeyForm::HttpMethod, about: "the request's HTTP method", example: "POST" };
const HTTP_URL: PresetKey = PresetKey {
    name: "url",
    form: KeyForm::Glob,
    about: "the request URL, query string included",
    example: "http://payments.internal/*",
};
const HOST: PresetKey = PresetKey {
    name: "host",
    form: KeyForm::Glob,
    about: "the host name as the application wrote it (or the address, for sockets)",
    example: "inventory.internal",
};
const PORT: PresetKey = PresetKey { name: "port", form: KeyForm::Port, about: "the remote port", example: "5432" };

const GRPC_METHOD: PresetKey = PresetKey {
    name: "method",
    form: KeyForm::Glob,
    about: "the call's full method name, package.Service/Method (a glob: shop.Inventory/*)",
    example: "shop.Inventory/Reserve",
};
const GRPC_SIDE: PresetKey = PresetKey {
    name: "side",
    form: KeyForm::OneOf(&["client", "server"]),
    about: "which side fails: the client's call (nothing is sent), or the server's handling of it (default: both)",
    example: "client",
};
const DESTINATION: PresetKey =
    PresetKey { name: "destination", form: KeyForm::Glob, about: "the queue or topic name", example: "orders.*" };
const JMS_SIDE: PresetKey = PresetKey {
    name: "side",
    form: KeyForm::OneOf(&["producer", "consumer"]),
    about: "which side fails: sending, or receiving and delivering to a listener (default: both)",
    example: "producer",
};

/// Every preset, in the order `faultline presets` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "jdbc",
        about: "statements executed through JDBC (Statement, PreparedStatement, CallableStatement, batches), \
                on any JDBC 4 driver and through pools",
        keys: &[SQL, OPERATION, JDBC_URL],
        kinds: &["exception", "latency", "hang"],
        default_throw: "java.sql.SQLTransientConnectionException",
        throw_names: &[],
        statuses: Statuses::None,
        hooks: &[
            "java.sql.Statement+#execute",
            "java.sql.Statement+#executeQuery",
            "java.sql.Statement+#executeUpdate",
            "java.sql.Statement+#executeLargeUpdate",
            "java.sql.Statement+#executeBatch",
            "java.sql.Statement+#executeLargeBatch",
            "java.sql.Connection+#prepareStatement(java.lang.String,..)",
            "java.sql.Connection+#prepareCall(java.lang.String,..)",
            "java.sql.Statement+#addBatch(java.lang.String)",
            "java.sql.Statement+#clearBatch()",
        ],
        tested_with: &[
            "PostgreSQL 15 with pgjdbc 42.5.5",
            "MariaDB 10.11 with mariadb-java-client 2.7.6",
            "H2 2.1.214",
            "HikariCP 2.7.9",
        ],
    },
    Preset {
        name: "jdbc-connect",
        about: "getting a database connection: DataSource (pools such as HikariCP included), Driver, DriverManager",
        keys: &[JDBC_URL],
        kinds: &["exception", "latency", "hang"],
        default_throw: "java.sql.SQLTransientConnectionException",
        throw_names: &[],
        statuses: Statuses::None,
        hooks: &["javax.sql.DataSource+#getConnection", "java.sql.Driver+#connect"],
        tested_with: &[
            "PostgreSQL 15 with pgjdbc 42.5.5",
            "MariaDB 10.11 with mariadb-java-client 2.7.6",
            "H2 2.1.214",
            "HikariCP 2.7.9",
        ],
    },
    Preset {
        name: "http-server",
        about: "incoming HTTP requests, before the application sees them: Servlet containers (javax.servlet and \
                jakarta.servlet) and the JDK's com.sun.net.httpserver",
        keys: &[PATH, HTTP_METHOD],
        kinds: &["latency", "exception", "respond"],
        default_throw: "java.io.IOException",
        throw_names: &[],
        statuses: Statuses::Http,
        hooks: &[
            "javax.servlet.FilterChain+#doFilter(javax.servlet.ServletRequest,javax.servlet.ServletResponse)",
            "javax.servlet.Servlet+#service(javax.servlet.ServletRequest,javax.servlet.ServletResponse)",
            "jakarta.servlet.FilterChain+#doFilter(jakarta.servlet.ServletRequest,jakarta.servlet.ServletResponse)",
            "jakarta.servlet.Servlet+#service(jakarta.servlet.ServletRequest,jakarta.servlet.ServletResponse)",
            "com.sun.net.httpserver.Filter$Chain#doFilter(com.sun.net.httpserver.HttpExchange)",
            "com.sun.net.httpserver.HttpHandler+#handle(com.sun.net.httpserver.HttpExchange)",
        ],
        tested_with: &[
            "Jetty 9.4.57 (javax.servlet 4.0)",
            "Tomcat 10.1.60 (jakarta.servlet 6.0)",
            "the JDK's HttpServer",
        ],
    },
    Preset {
        name: "http-client",
        about: "outgoing HTTP requests: the JDK HttpClient (send and sendAsync), HttpURLConnection, Apache \
                HttpClient 4 and 5, OkHttp",
        keys: &[HTTP_URL, HTTP_METHOD],
        kinds: &["latency", "exception", "respond"],
        default_throw: "connect",
        throw_names: &[
            ThrowName {
                name: "connect",
                about: "the client's own connection failure (java.net.ConnectException or its subclass)",
            },
            ThrowName { name: "timeout", about: "the client's own timeout exception" },
        ],
        statuses: Statuses::Http,
        hooks: &[
            // Respond faults answer send/sendAsync; latency and exceptions act where the
            // exchange starts, on the client's executor (sendAsync's caller is not held).
            "java.net.http.HttpClient+#send",
            "java.net.http.HttpClient+#sendAsync",
            "jdk.internal.net.http.MultiExchange#requestFilters(jdk.internal.net.http.HttpRequestImpl)",
            "java.net.HttpURLConnection+#connect",
            "java.net.HttpURLConnection+#getInputStream",
            "java.net.HttpURLConnection+#getOutputStream",
            "java.net.HttpURLConnection+#getResponseCode",
            "org.apache.http.impl.client.CloseableHttpClient+#doExecute",
            "org.apache.hc.client5.http.impl.classic.CloseableHttpClient+#doExecute",
            // The outermost interceptor of a call's chain: on the caller's thread for
            // Call.execute, on the dispatcher's for Call.enqueue.
            "okhttp3.Interceptor+#intercept",
        ],
        tested_with: &[
            "the JDK's HttpClient (JDK 17, 21, 25)",
            "HttpURLConnection",
            "Apache HttpClient 4.5.14",
            "Apache HttpClient 5.2.1",
            "OkHttp 3.13.1",
        ],
    },
    Preset {
        name: "dns",
        about: "host name resolution (InetAddress, and through it sockets, URLs and HTTP clients)",
        keys: &[HOST],
        kinds: &["exception", "latency"],
        default_throw: "java.net.UnknownHostException",
        throw_names: &[],
        statuses: Statuses::None,
        hooks: &[
            "java.net.InetAddress#getAllByName(java.lang.String)",
            "java.net.InetAddress#getByName(java.lang.String)",
        ],
        tested_with: &["the JDK's InetAddress, Socket and HttpClient (JDK 11, 17, 21, 25)"],
    },
    Preset {
        name: "socket",
        about: "opening TCP connections: java.net.Socket and NIO SocketChannel, so every client library built on \
                them",
        keys: &[HOST, PORT],
        kinds: &["exception", "latency", "hang"],
        default_throw: "java.net.ConnectException",
        throw_names: &[],
        statuses: Statuses::None,
        hooks: &[
            "java.net.Socket+#connect(java.net.SocketAddress,int)",
            "java.nio.channels.SocketChannel+#connect(java.net.SocketAddress)",
        ],
        tested_with: &["the JDK's Socket and SocketChannel (JDK 11, 17, 21, 25)", "pgjdbc 42.5.5 on PostgreSQL 15"],
    },
    Preset {
        name: "grpc",
        about: "gRPC calls of grpc-java, on the client (a stub's call: blocking, async or future) or the server \
                (the service's handler)",
        keys: &[GRPC_METHOD, GRPC_SIDE],
        kinds: &["respond", "latency"],
        default_throw: "",
        throw_names: &[],
        statuses: Statuses::Grpc,
        hooks: &[
            // The client's call, where every stub's call begins (interceptor channels reach
            // the managed channel inside; the channels it builds inside are not managed ones).
            "io.grpc.ManagedChannel+#newCall(io.grpc.MethodDescriptor,io.grpc.CallOptions)",
            // Observed for respond faults: a call made at its start runs in the failed context.
            "io.grpc.ClientCall+#start(io.grpc.ClientCall$Listener,io.grpc.Metadata)",
            // The server's first call into the service (interceptors, then the handler).
            "io.grpc.ServerCallHandler+#startCall(io.grpc.ServerCall,io.grpc.Metadata)",
        ],
        tested_with: &["grpc-java 1.41.3 (in-process transport; blocking and async stubs)"],
    },
    Preset {
        name: "jms",
        about: "JMS messaging (javax.jms, any provider): sending (MessageProducer.send, TopicPublisher.publish), \
                receiving (MessageConsumer.receive, receiveNoWait) and delivery to a MessageListener",
        keys: &[DESTINATION, JMS_SIDE],
        kinds: &["exception", "latency"],
        default_throw: "jms",
        throw_names: &[ThrowName {
            name: "jms",
            about: "javax.jms.JMSException, from the application's own JMS API (for a listener, a RuntimeException \
                    caused by it: the delivery fails and the provider redelivers)",
        }],
        statuses: Statuses::None,
        hooks: &[
            // A send a provider or a wrapper makes inside another is the same send.
            "javax.jms.MessageProducer+#send",
            "javax.jms.TopicPublisher+#publish",
            "javax.jms.MessageConsumer+#receive()",
            "javax.jms.MessageConsumer+#receive(long)",
            "javax.jms.MessageConsumer+#receiveNoWait()",
            "javax.jms.MessageListener+#onMessage(javax.jms.Message)",
            // Read only: the destination each consumer is created for (the JMS API gives a
            // consumer none), for matching its receives.
            "javax.jms.Session+#createConsumer(javax.jms.Destination,..)",
            "javax.jms.Session+#createDurableSubscriber(javax.jms.Topic,..)",
            "javax.jms.QueueSession+#createReceiver(javax.jms.Queue,..)",
            "javax.jms.TopicSession+#createSubscriber(javax.jms.Topic,..)",
        ],
        tested_with: &["ActiveMQ 5.17.2 (javax.jms 1.1)"],
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// Every preset name, for messages and suggestions.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

impl Preset {
    pub fn key(&self, name: &str) -> Option<&'static PresetKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    pub fn takes_kind(&self, kind: &str) -> bool {
        self.kinds.contains(&kind)
    }

    /// The hook patterns, parsed (they are constants: a bad one is a bug, caught by a test).
    pub fn hook_targets(&self) -> Vec<TargetPattern> {
        self.hooks.iter().filter_map(|h| TargetPattern::parse(h).ok()).collect()
    }

    /// Checks and normalizes one key's value (from TOML or the command line): HTTP methods in
    /// upper case, ports as digits. The error says what the value must look like.
    pub fn check_value(&self, key: &PresetKey, value: &str) -> Result<String, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("must not be empty: {}", key.form.describe()));
        }
        match key.form {
            KeyForm::Regex | KeyForm::Glob => Ok(value.to_string()),
            KeyForm::OneOf(words) => {
                let lower = value.to_ascii_lowercase();
                if words.contains(&lower.as_str()) {
                    Ok(lower)
                } else {
                    Err(format!(
                        "unknown value {value:?}{}; expected one of {}",
                        crate::spelling::suggestion(&lower, words),
                        words.join(", ")
                    ))
                }
            }
            KeyForm::HttpMethod => {
                if value.chars().all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_') {
                    Ok(value.to_ascii_uppercase())
                } else {
                    Err(format!("{value:?} is not an HTTP method; expected a word such as GET, POST or DELETE"))
                }
            }
            KeyForm::Port => match value.parse::<u32>() {
                Ok(port @ 1..=65535) => Ok(port.to_string()),
                _ => Err(format!("{value:?} is not a port; expected a number from 1 to 65535")),
            },
        }
    }

    /// The preset whose keys include `key`, other than this one, for "belongs to" hints.
    pub fn other_with_key(&self, key: &str) -> Option<&'static Preset> {
        PRESETS.iter().find(|p| p.name != self.name && p.key(key).is_some())
    }
}

/// Every key of every preset, for telling a preset key from an unknown one.
pub fn all_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = PRESETS.iter().flat_map(|p| p.keys.iter().map(|k| k.name)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A fault's preset with the values of its keys (checked and normalized), in the preset's
/// key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetUse {
    pub preset: &'static Preset,
    pub keys: BTreeMap<&'static str, String>,
}

impl PresetUse {
    /// The keys with their values in the preset's order.
    pub fn values(&self) -> Vec<(&'static str, &str)> {
        self.preset.keys.iter().filter_map(|k| self.keys.get(k.name).map(|v| (k.name, v.as_str()))).collect()
    }
}

impl fmt::Display for PresetUse {
    /// `preset jdbc sql="^update orders" operation=update`, for status, events and reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<(String, String)> =
            self.values().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        f.write_str(&crate::protocol::preset_aim(self.preset.name, &keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_pattern_parses() {
        for p in PRESETS {
            for h in p.hooks {
                if let Err(e) = TargetPattern::parse(h) {
                    panic!("preset {}: {e}", p.name);
                }
            }
            assert_eq!(p.hook_targets().len(), p.hooks.len());
        }
    }

    #[test]
    fn every_preset_acts_somewhere_and_takes_its_default_kind() {
        for p in PRESETS {
            assert!(!p.hooks.is_empty(), "{}", p.name);
            assert!(!p.kinds.is_empty());
            let symbolic = p.throw_names.iter().any(|t| t.name == p.default_throw);
            assert!(!p.takes_kind("exception") || p.default_throw.contains('.') || symbolic, "{}", p.name);
            assert_eq!(p.takes_kind("respond"), p.statuses != Statuses::None, "{}", p.name);
        }
    }

    #[test]
    fn values_are_checked_and_normalized() {
        let jdbc = find("jdbc").unwrap();
        let op = jdbc.key("operation").unwrap();
        assert_eq!(jdbc.check_value(op, "UPDATE").unwrap(), "update");
        let e = jdbc.check_value(op, "updat").unwrap_err();
        assert!(e.contains("did you mean \"update\"") || e.contains("update"), "{e}");
        let http = find("http-server").unwrap();
        assert_eq!(http.check_value(http.key("method").unwrap(), "post").unwrap(), "POST");
        assert!(http.check_value(http.key("method").unwrap(), "GET /x").is_err());
        let socket = find("socket").unwrap();
        let port = socket.key("port").unwrap();
        assert_eq!(socket.check_value(port, "5432").unwrap(), "5432");
        assert!(socket.check_value(port, "0").is_err());
        assert!(socket.check_value(port, "70000").is_err());
        assert!(jdbc.check_value(jdbc.key("sql").unwrap(), "  ").is_err());
    }

    #[test]
    fn display_quotes_what_needs_quotes() {
        let jdbc = find("jdbc").unwrap();
        let mut keys = BTreeMap::new();
        keys.insert("sql", "^update orders".to_string());
        keys.insert("operation", "update".to_string());
        let u = PresetUse { preset: jdbc, keys };
        assert_eq!(u.to_string(), "preset jdbc sql=\"^update orders\" operation=update");
    }

    #[test]
    fn a_key_of_another_preset_is_found() {
        let jdbc = find("jdbc").unwrap();
        assert_eq!(jdbc.other_with_key("path").map(|p| p.name), Some("http-server"));
        assert!(all_keys().contains(&"sql"));
    }
}
