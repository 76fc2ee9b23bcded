-- 0003_connections.sql: named connections to outside systems (databases,
-- HTTP services, mail servers, brokers) for operators; see
-- engine/connections.h and docs/connections.md.
--
-- `weir connections add|delete` write this table; schedulers read it
-- when they build a task's spec.  A connections file may define more;
-- on a name clash the row here wins.
--
-- Passwords (and secret-looking members of extra) are stored in clear,
-- because weir must hand them to the operators: protect the database.
-- Deleting a connection deletes the row (no soft delete: a deleted
-- secret must not linger).

CREATE TABLE connections (
    name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,100}$'),
    conn_type   text NOT NULL CHECK (conn_type IN ('postgres', 'http', 'smtp', 'amqp')),
    host        text,
    port        integer CHECK (port BETWEEN 1 AND 65535),
    login       text,
    password    text,
    schema      text,
    extra       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extra) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
