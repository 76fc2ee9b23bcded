-- 0002_auth.sql: what the HTTP API needs: OAuth2 clients, users and
-- tokens; the geometry normaliser for service orders; a numeric id for
-- import errors (Airflow's import_error_id); an index for order listings.
--
-- Secrets are never stored.  A client secret and every token are 256-bit
-- random values: the database keeps their SHA-256 (hex), which is enough
-- for values that cannot be guessed, and lets a token be found by an
-- index lookup of its hash.  User passwords are chosen by people, so they
-- get a salted slow hash (libsodium crypto_pwhash_str, Argon2id).
--
-- Clients and users are soft-deleted (deleted_at); their names are unique
-- among the live ones only, so a name can be reused after a delete.

-- ------------------------------------------------------------------
-- OAuth2 clients and users
-- ------------------------------------------------------------------
CREATE TABLE oauth_clients (
    client_id    text PRIMARY KEY,
    name         text NOT NULL CHECK (name <> ''),
    secret_hash  text NOT NULL,                 -- hex SHA-256 of the secret
    scopes       text[] NOT NULL DEFAULT '{}',
    token_ttl_s  integer NOT NULL CHECK (token_ttl_s BETWEEN 1 AND 31536000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX oauth_clients_live_name ON oauth_clients (name) WHERE deleted_at IS NULL;

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL CHECK (username <> ''),
    password_hash text NOT NULL,                -- crypto_pwhash_str (Argon2id, salted)
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE UNIQUE INDEX users_live_name ON users (username) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------------
-- Tokens
-- ------------------------------------------------------------------
-- Access and refresh tokens.  A refresh token is used once: the token
-- endpoint revokes it and issues a new pair in the same statement
-- (rotation).  Tokens issued from one grant share a family; presenting a
-- refresh token that was already rotated revokes the whole family (it
-- was stolen, or the client is confused).
CREATE TABLE oauth_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  text NOT NULL,                  -- hex SHA-256 of the token
    kind        text NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id   text NOT NULL REFERENCES oauth_clients (client_id),
    user_id     bigint REFERENCES users (id),   -- password grant only
    scopes      text[] NOT NULL,
    family      uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX oauth_tokens_by_hash ON oauth_tokens (token_hash);
CREATE INDEX oauth_tokens_by_family ON oauth_tokens (family);
CREATE INDEX oauth_tokens_by_client ON oauth_tokens (client_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_tokens_by_user ON oauth_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);

-- ------------------------------------------------------------------
-- Import errors get Airflow's numeric id
-- ------------------------------------------------------------------
ALTER TABLE import_errors ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX import_errors_by_id ON import_errors (id);

-- Orders of every client, newest first (admin listings).
CREATE INDEX dag_runs_by_received ON dag_runs (received_at DESC, id DESC);
-- Orders of one service.
CREATE INDEX dag_runs_by_service ON dag_runs (service, received_at DESC)
    WHERE service IS NOT NULL;

-- ------------------------------------------------------------------
-- Areas of interest
-- ------------------------------------------------------------------
-- Normalises a WKT/EWKT text or a GeoJSON document (geometry, Feature or
-- FeatureCollection) to a valid MultiPolygon in EPSG:4326 and measures its
-- geodesic area.  Never raises for bad input: returns
--   {"ok": true, "wkt": ..., "geojson": {...}, "area_km2": n}
-- or {"ok": false, "reason": "..."}.
CREATE FUNCTION weir_aoi_normalize(p_kind text, p_value text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    g geometry;
    j jsonb;
BEGIN
    BEGIN
        IF p_kind = 'wkt' THEN
            g := ST_GeomFromEWKT(p_value);
        ELSE
            j := p_value::jsonb;
            IF j->>'type' = 'Feature' THEN
                j := j->'geometry';
            END IF;
            IF j->>'type' = 'FeatureCollection' THEN
                SELECT ST_Collect(ST_GeomFromGeoJSON(f->'geometry')) INTO g
                  FROM jsonb_array_elements(j->'features') AS f;
            ELSIF j IS NOT NULL AND jsonb_typeof(j) = 'object' THEN
                g := ST_GeomFromGeoJSON(j);
            END IF;
        END IF;
        IF g IS NULL THEN
            RETURN jsonb_build_object('ok', false, 'reason', 'no geometry');
        END IF;
        IF ST_SRID(g) = 0 THEN
            g := ST_SetSRID(g, 4326);
        ELSIF ST_SRID(g) <> 4326 THEN
            g := ST_Transform(g, 4326);
        END IF;
        g := ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3));
    EXCEPTION WHEN OTHERS THEN
        RETURN jsonb_build_object('ok', false, 'reason', SQLERRM);
    END;
    IF g IS NULL OR ST_IsEmpty(g) THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'the geometry encloses no area');
    END IF;
    IF ST_XMin(g) < -180 OR ST_XMax(g) > 180 OR ST_YMin(g) < -90 OR ST_YMax(g) > 90 THEN
        RETURN jsonb_build_object('ok', false,
            'reason', 'coordinates outside EPSG:4326 (longitude -180..180, latitude -90..90)');
    END IF;
    RETURN jsonb_build_object('ok', true, 'wkt', ST_AsText(g),
        'geojson', ST_AsGeoJSON(g)::jsonb,
        'area_km2', ST_Area(g::geography) / 1e6);
END $$;

-- ------------------------------------------------------------------
-- Run counts per DAG
-- ------------------------------------------------------------------
-- Listings report total_entries (Airflow's collection size).  Counting a
-- DAG's runs scans all of them, and a DAG accumulates runs forever, so
-- the unfiltered count (the common case: a DAG's runs, page by page) is
-- kept here, exact and transactional, by statement-level triggers.
-- Filtered listings still count the rows they match.
CREATE TABLE dag_run_counts (
    dag_id text PRIMARY KEY,
    runs   bigint NOT NULL DEFAULT 0
);
INSERT INTO dag_run_counts (dag_id, runs) SELECT dag_id, count(*) FROM dag_runs GROUP BY dag_id;

CREATE FUNCTION weir_count_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dag_run_counts AS c (dag_id, runs)
        SELECT dag_id, count(*) FROM new_rows GROUP BY dag_id ORDER BY dag_id
        ON CONFLICT (dag_id) DO UPDATE SET runs = c.runs + EXCLUDED.runs;
    ELSE
        UPDATE dag_run_counts c SET runs = c.runs - d.n
          FROM (SELECT dag_id, count(*) AS n FROM old_rows GROUP BY dag_id) d
         WHERE c.dag_id = d.dag_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER dag_runs_count_insert AFTER INSERT ON dag_runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION weir_count_runs();
CREATE TRIGGER dag_runs_count_delete AFTER DELETE ON dag_runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION weir_count_runs();

-- Airflow's default run order is by id: a DAG's runs in id order.
CREATE INDEX dag_runs_by_dag_and_id ON dag_runs (dag_id, id);
