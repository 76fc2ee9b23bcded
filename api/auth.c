/*
 * auth.c: OAuth2 (RFC 6749 token endpoint, RFC 7009 revocation, RFC 7662
 * introspection), bearer-token checks for every route, and the admin
 * resources /api/v1/clients and /api/v1/users.
 *
 * SECRETS.  Client secrets and tokens are 256 random bits from libsodium;
 * only their SHA-256 is stored, and a token is found by the index lookup
 * of its hash (a guess of a 256-bit value cannot be sped up by timing
 * that lookup).  A presented client secret is compared with the stored
 * hash by sodium_memcmp (constant time), also when the client does not
 * exist (against a dummy), so response time does not reveal which ids
 * exist.  Passwords use crypto_pwhash_str / crypto_pwhash_str_verify
 * (Argon2id, salted, constant time); an unknown user is verified against
 * a dummy hash for the same reason.
 *
 * ERRORS.  The OAuth2 endpoints answer in RFC 6749 §5.2's shape
 * ({"error": "invalid_grant", "error_description": "..."}), which OAuth2
 * client libraries parse; everything else uses the gateway's shape.
 *
 * ROTATION.  A refresh token works once: the grant revokes it and issues
 * a new pair in one statement.  Presenting an already rotated refresh
 * token revokes its whole family (RFC 6819 §5.2.2.3).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time.h"
#include "common/xalloc.h"
#include "engine/uuid.h"

#define TOKEN_BYTES 32
#define TOKEN_CHARS 43 /* base64url of 32 bytes, no padding */

/* ------------------------------------------------------------------ */
/* generating secrets                                                   */
/* ------------------------------------------------------------------ */

static void new_token(char out[TOKEN_CHARS + 1])
{
	unsigned char raw[TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	api_b64url(out, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

static void new_client_id(char out[WEIR_API_CLIENT_ID_BUFSZ])
{
	unsigned char raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, WEIR_API_CLIENT_ID_BUFSZ, raw, sizeof(raw));
}

static bool token_syntax_ok(const char *t, size_t n)
{
	if (n != TOKEN_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Constant-time comparison of a presented secret with a stored hex hash. */
static bool secret_matches(const char *secret, const char *stored_hex)
{
	char h[65];
	static const char dummy[65] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	const char *want = stored_hex && strlen(stored_hex) == 64 ? stored_hex : dummy;

	api_sha256_hex(secret, strlen(secret), h);
	return sodium_memcmp(h, want, 64) == 0 && want != dummy;
}

/* A password hash nobody has, to verify unknown users against. */
static char dummy_pwhash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
	char pw[32];

	randombytes_buf(pw, sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	if (crypto_pwhash_str(dummy_pwhash, pw, sizeof(pw) - 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_pwhash[0] = '\0';
}

static bool password_matches(const char *stored, const char *password)
{
	if (!stored) {
		pthread_once(&dummy_once, dummy_init);
		if (dummy_pwhash[0] && crypto_pwhash_str_verify(dummy_pwhash, password, strlen(password)) == 0)
			return false; /* cannot happen: nobody knows the dummy's password */
		return false;
	}
	return crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
}

static int hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
		       ? 0
		       : WEIR_EINVALID;
}

/* ------------------------------------------------------------------ */
/* the token cache                                                      */
/* ------------------------------------------------------------------ */

/*
 * Verified access tokens, kept for one second: under load most requests
 * then need one database round trip instead of two.  The price: a token
 * revoked through another gateway (or by a client or user deleted there)
 * keeps working here for up to a second.  This gateway's own revocations
 * and deletions clear the cache at once.  Direct-mapped by the token
 * hash; a collision just evicts.
 */
#define CACHE_SLOTS 1024
#define CACHE_US WEIR_US_PER_SEC

struct cached_token {
	char hash[65];
	char client_id[WEIR_API_CLIENT_ID_BUFSZ];
	char username[104];
	unsigned scopes;
	int64_t exp_s;   /* the token's expiry (Unix seconds) */
	int64_t at_us;   /* monotonic time it was verified */
	bool used;
	bool has_user;
};

struct api_token_cache {
	pthread_mutex_t lock;
	struct cached_token slot[CACHE_SLOTS];
};

struct api_token_cache *api_token_cache_new(void)
{
	struct api_token_cache *c = weir_xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void api_token_cache_free(struct api_token_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void api_token_cache_clear(struct api_token_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		c->slot[i].used = false;
	pthread_mutex_unlock(&c->lock);
}

static size_t cache_index(const char *hash)
{
	/* The hash is uniform: its first 3 hex digits pick the slot. */
	unsigned v = 0;
	for (int i = 0; i < 3; i++)
		v = v * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
	return v % CACHE_SLOTS;
}

static bool cache_get(struct api_req *rq, const char *hash)
{
	struct api_token_cache *c = rq->ctx->tokens;
	struct cached_token *t;
	bool hit = false;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	t = &c->slot[cache_index(hash)];
	if (t->used && !strcmp(t->hash, hash) && weir_mono_us() - t->at_us < CACHE_US &&
	    t->exp_s > weir_now_us() / WEIR_US_PER_SEC) {
		rq->who.client_id = weir_arena_strdup(&rq->arena, t->client_id);
		rq->who.username = t->has_user ? weir_arena_strdup(&rq->arena, t->username) : NULL;
		rq->who.scopes = t->scopes;
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void cache_put(struct api_req *rq, const char *hash, int64_t exp_s)
{
	struct api_token_cache *c = rq->ctx->tokens;
	struct cached_token *t;

	if (!c || strlen(rq->who.client_id) >= sizeof(t->client_id) ||
	    (rq->who.username && strlen(rq->who.username) >= sizeof(t->username)))
		return;
	pthread_mutex_lock(&c->lock);
	t = &c->slot[cache_index(hash)];
	memcpy(t->hash, hash, 65);
	snprintf(t->client_id, sizeof(t->client_id), "%s", rq->who.client_id);
	t->has_user = rq->who.username != NULL;
	snprintf(t->username, sizeof(t->username), "%s", rq->who.username ? rq->who.username : "");
	t->scopes = rq->who.scopes;
	t->exp_s = exp_s;
	t->at_us = weir_mono_us();
	t->used = true;
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------ */
/* bearer tokens                                                        */
/* ------------------------------------------------------------------ */

int api_authenticate(struct api_req *rq, struct api_resp *rs, unsigned need)
{
	const char *h = rq->authorization, *tok;
	char hash[65];
	const char *p[1];
	json_t *row = NULL;
	size_t n;
	int rc;

	if (!h || !*h) {
		api_unauthorized(rq, rs, NULL,
				 "authentication required: send \"Authorization: Bearer TOKEN\" "
				 "(tokens come from POST /oauth/token)");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		api_unauthorized(rq, rs, "invalid_request",
				 "the Authorization header must use the Bearer scheme");
		return -1;
	}
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	n = strlen(tok);
	while (n && tok[n - 1] == ' ')
		n--;
	if (!token_syntax_ok(tok, n)) {
		api_unauthorized(rq, rs, "invalid_token", "the bearer token is malformed");
		return -1;
	}
	api_sha256_hex(tok, n, hash);
	if (cache_get(rq, hash))
		goto check_scope;
	p[0] = hash;
	rc = api_query(rq, rs, "api.token.lookup", 1, p, &row);
	if (rc == WEIR_ENOTFOUND) {
		api_unauthorized(rq, rs, "invalid_token", "the bearer token is not valid");
		return -1;
	}
	if (rc < 0)
		return -1; /* answered */
	if (strcmp(api_jstr(row, "kind"), "access") != 0) {
		api_unauthorized(rq, rs, "invalid_token", "a refresh token is not an access token");
		return -1;
	}
	if (json_is_true(json_object_get(row, "revoked"))) {
		api_unauthorized(rq, rs, "invalid_token", "the bearer token was revoked");
		return -1;
	}
	if (json_is_true(json_object_get(row, "expired"))) {
		api_unauthorized(rq, rs, "invalid_token", "the bearer token expired");
		return -1;
	}
	rq->who.client_id = weir_arena_strdup(&rq->arena,
					      api_jstr(row, "client_id"));
	if (json_is_string(json_object_get(row, "username")))
		rq->who.username = weir_arena_strdup(&rq->arena,
						     json_string_value(json_object_get(row, "username")));
	rq->who.scopes = api_scopes_from_json(json_object_get(row, "scopes"));
	cache_put(rq, hash, json_integer_value(json_object_get(row, "exp")));
check_scope:
	rq->who.admin = (rq->who.scopes & API_SCOPE_ADMIN) != 0;
	if (!api_scopes_allow(rq->who.scopes, need)) {
		char hdr[256];
		const char *names = api_scopes_string(&rq->arena, need);
		api_error(rq, rs, 403, NULL, "this token lacks the scope \"%s\"", names);
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"weir\", error=\"insufficient_scope\", scope=\"%s\"",
			 names);
		api_header(rq, rs, "WWW-Authenticate", hdr);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* OAuth2 endpoints                                                     */
/* ------------------------------------------------------------------ */

struct oauth_in {
	struct api_kv kv[32];
	size_t n;
	bool basic;             /* client credentials came in an Authorization header */
	const char *client_id;
	const char *client_secret;
};

static void oauth_error(struct api_req *rq, struct api_resp *rs, int status, const char *code,
			const char *desc, bool basic)
{
	json_t *j = json_pack("{s:s, s:s}", "error", code, "error_description", desc);

	api_json(rs, status, j);
	api_header(rq, rs, "Cache-Control", "no-store");
	api_header(rq, rs, "Pragma", "no-cache");
	if (status == 401)
		api_header(rq, rs, "WWW-Authenticate", basic ? "Basic realm=\"weir\"" : "Bearer realm=\"weir\"");
}

static const char *in_get(const struct oauth_in *in, const char *key)
{
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(in->kv[i].key, key))
			return in->kv[i].value;
	return NULL;
}

/* Reads the form (or JSON) parameters and the client's credentials. */
static int oauth_read(struct api_req *rq, struct api_resp *rs, struct oauth_in *in)
{
	const char *h = rq->authorization;
	int n;

	memset(in, 0, sizeof(*in));
	if (rq->body && rq->body_len) {
		if (api_media_is(rq->content_type, "application/x-www-form-urlencoded")) {
			n = api_parse_form(&rq->arena, rq->body, rq->body_len, in->kv, WEIR_ARRAY_SIZE(in->kv));
			if (n < 0) {
				oauth_error(rq, rs, 400, "invalid_request", "malformed form body", false);
				return -1;
			}
			in->n = (size_t)n;
		} else if (api_media_is(rq->content_type, "application/json")) {
			json_t *j = api_keep(rq, json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL));
			const char *k;
			json_t *v;
			if (!json_is_object(j)) {
				oauth_error(rq, rs, 400, "invalid_request", "malformed JSON body: expected an object",
					    false);
				return -1;
			}
			json_object_foreach(j, k, v) {
				if (!json_is_string(v) || in->n == WEIR_ARRAY_SIZE(in->kv)) {
					oauth_error(rq, rs, 400, "invalid_request",
						    "every parameter must be a string", false);
					return -1;
				}
				in->kv[in->n].key = k;
				in->kv[in->n].value = json_string_value(v);
				in->n++;
			}
		} else {
			oauth_error(rq, rs, 415, "invalid_request",
				    "send parameters as application/x-www-form-urlencoded", false);
			return -1;
		}
	}
	/* Duplicate parameters are an error (RFC 6749 §3.1). */
	for (size_t i = 0; i < in->n; i++)
		for (size_t k = i + 1; k < in->n; k++)
			if (!strcmp(in->kv[i].key, in->kv[k].key)) {
				oauth_error(rq, rs, 400, "invalid_request", "a parameter appears twice", false);
				return -1;
			}
	if (h && !strncasecmp(h, "Basic ", 6)) {
		unsigned char dec[512];
		size_t dlen = 0;
		const char *b64 = h + 6, *colon;
		char *id, *secret;

		while (*b64 == ' ')
			b64++;
		if (sodium_base642bin(dec, sizeof(dec) - 1, b64, strlen(b64), NULL, &dlen, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    !(colon = memchr(dec, ':', dlen))) {
			oauth_error(rq, rs, 401, "invalid_client", "malformed Basic credentials", true);
			return -1;
		}
		/* RFC 6749 §2.3.1: both parts are form-encoded first. */
		id = api_unescape(&rq->arena, (const char *)dec, (size_t)(colon - (const char *)dec), true);
		secret = api_unescape(&rq->arena, colon + 1, dlen - (size_t)(colon + 1 - (const char *)dec),
				      true);
		sodium_memzero(dec, sizeof(dec));
		if (!id || !secret) {
			oauth_error(rq, rs, 401, "invalid_client", "malformed Basic credentials", true);
			return -1;
		}
		if (in_get(in, "client_secret")) {
			oauth_error(rq, rs, 400, "invalid_request",
				    "use one way of client authentication, not two", true);
			return -1;
		}
		in->basic = true;
		in->client_id = id;
		in->client_secret = secret;
	} else {
		in->client_id = in_get(in, "client_id");
		in->client_secret = in_get(in, "client_secret");
	}
	return 0;
}

struct client_row {
	const char *id;
	unsigned scopes;
	int64_t ttl_s;
};

/* Authenticates the client of an OAuth2 request; answers 401 on failure. */
static int oauth_client(struct api_req *rq, struct api_resp *rs, const struct oauth_in *in,
			struct client_row *c)
{
	const char *p[1];
	json_t *row = NULL;
	int rc;

	if (!in->client_id || !in->client_secret) {
		oauth_error(rq, rs, 401, "invalid_client",
			    "client authentication required (HTTP Basic, or client_id and client_secret)",
			    in->basic);
		return -1;
	}
	if (!api_store(rq, rs))
		return -1;
	p[0] = in->client_id;
	rc = api_query(rq, rs, "api.client.auth", 1, p, &row);
	if (rc < 0 && rc != WEIR_ENOTFOUND)
		return -1; /* answered */
	if (!secret_matches(in->client_secret, json_string_value(json_object_get(row, "secret_hash")))) {
		oauth_error(rq, rs, 401, "invalid_client", "unknown client or wrong secret", in->basic);
		return -1;
	}
	c->id = weir_arena_strdup(&rq->arena, in->client_id);
	c->scopes = api_scopes_from_json(json_object_get(row, "scopes"));
	c->ttl_s = json_integer_value(json_object_get(row, "token_ttl_s"));
	if (c->ttl_s <= 0)
		c->ttl_s = rq->ctx->token_ttl_s;
	return 0;
}

/* The scopes a holder of `have` may get when asking for `req` (NULL: all). */
static int grant_scopes(struct api_req *rq, struct api_resp *rs, unsigned have, const char *req,
			unsigned *out)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	unsigned want;

	if (!req) {
		*out = have;
		return 0;
	}
	if (api_scopes_parse(req, &want, &err) < 0) {
		oauth_error(rq, rs, 400, "invalid_scope", err.buf, false);
		weir_buf_release(&err);
		return -1;
	}
	weir_buf_release(&err);
	if (!api_scopes_allow(have, want)) {
		oauth_error(rq, rs, 400, "invalid_scope", "the requested scope exceeds what was granted", false);
		return -1;
	}
	*out = want;
	return 0;
}

/* Effective scopes: admin stands for all of them. */
static unsigned effective(unsigned s)
{
	return (s & API_SCOPE_ADMIN) ? API_SCOPE_ALL : s;
}

static void token_response(struct api_req *rq, struct api_resp *rs, const char *access,
			   int64_t ttl_s, const char *refresh, unsigned scopes)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "access_token", access, "token_type", "Bearer",
			      "expires_in", (json_int_t)ttl_s, "scope",
			      api_scopes_string(&rq->arena, scopes));

	if (refresh)
		json_object_set_new(j, "refresh_token", json_string(refresh));
	api_json(rs, 200, j);
	api_header(rq, rs, "Cache-Control", "no-store");
	api_header(rq, rs, "Pragma", "no-cache");
}

static void maybe_prune(struct api_req *rq)
{
	int64_t now = weir_mono_us(), last = atomic_load(&rq->ctx->tokens_pruned_at);
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	long rows = 0;

	if (last && now - last < 3600 * WEIR_US_PER_SEC)
		return;
	if (!atomic_compare_exchange_strong(&rq->ctx->tokens_pruned_at, &last, now))
		return;
	if (weir_store_exec(rq->st, "api.tokens.prune", 0, NULL, &rows, &err) < 0)
		weir_warn("could not prune expired tokens: %s", err.buf);
	weir_buf_release(&err);
}

/* Issues a new grant (access and, with refresh_ttl > 0, refresh token). */
static void issue(struct api_req *rq, struct api_resp *rs, const struct client_row *c,
		  const char *user_id, unsigned scopes, bool with_refresh)
{
	char access[TOKEN_CHARS + 1], refresh[TOKEN_CHARS + 1], ha[65], hr[65];
	char fam[WEIR_UUID_STRLEN];
	struct weir_uuid u;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	json_t *sj = api_keep(rq, api_scopes_to_json(scopes));
	const char *p[8];
	long rows = 0;
	int rc;

	new_token(access);
	api_sha256_hex(access, TOKEN_CHARS, ha);
	if (with_refresh) {
		new_token(refresh);
		api_sha256_hex(refresh, TOKEN_CHARS, hr);
	}
	weir_uuid_v7(&u);
	p[0] = ha;
	p[1] = with_refresh ? hr : NULL;
	p[2] = c->id;
	p[3] = user_id;
	p[4] = api_json_text(&rq->arena, sj);
	p[5] = weir_uuid_format(&u, fam);
	p[6] = api_i64(&rq->arena, c->ttl_s);
	p[7] = with_refresh ? api_i64(&rq->arena, rq->ctx->refresh_ttl_s) : NULL;
	rc = weir_store_exec(rq->st, "api.token.issue", 8, p, &rows, &err);
	if (rc < 0) {
		api_store_error(rq, rs, rc, "could not issue a token", &err);
	} else {
		token_response(rq, rs, access, c->ttl_s, with_refresh ? refresh : NULL, scopes);
		maybe_prune(rq);
	}
	sodium_memzero(access, sizeof(access));
	sodium_memzero(refresh, sizeof(refresh));
	weir_buf_release(&err);
}

static void grant_client_credentials(struct api_req *rq, struct api_resp *rs,
				     const struct oauth_in *in, const struct client_row *c)
{
	unsigned scopes;

	if (grant_scopes(rq, rs, c->scopes, in_get(in, "scope"), &scopes) < 0)
		return;
	/* RFC 6749 §4.4.3: no refresh token for this grant. */
	issue(rq, rs, c, NULL, scopes, false);
}

static void grant_password(struct api_req *rq, struct api_resp *rs, const struct oauth_in *in,
			   const struct client_row *c)
{
	const char *user = in_get(in, "username"), *pw = in_get(in, "password");
	const char *p[1];
	json_t *row = NULL;
	unsigned have, scopes;
	int rc;

	if (!user || !pw) {
		oauth_error(rq, rs, 400, "invalid_request", "username and password are required", false);
		return;
	}
	p[0] = user;
	rc = api_query(rq, rs, "api.user.auth", 1, p, &row);
	if (rc < 0 && rc != WEIR_ENOTFOUND)
		return; /* answered */
	if (!password_matches(json_string_value(json_object_get(row, "password_hash")), pw)) {
		oauth_error(rq, rs, 400, "invalid_grant", "unknown user or wrong password", false);
		return;
	}
	have = effective(api_scopes_from_json(json_object_get(row, "scopes"))) & effective(c->scopes);
	if (have == API_SCOPE_ALL)
		have = API_SCOPE_ADMIN;
	if (grant_scopes(rq, rs, have, in_get(in, "scope"), &scopes) < 0)
		return;
	issue(rq, rs, c, api_i64(&rq->arena, json_integer_value(json_object_get(row, "id"))), scopes,
	      rq->ctx->refresh_ttl_s > 0);
}

static void grant_refresh(struct api_req *rq, struct api_resp *rs, const struct oauth_in *in,
			  const struct client_row *c)
{
	const char *old = in_get(in, "refresh_token");
	char hold[65], access[TOKEN_CHARS + 1], refresh[TOKEN_CHARS + 1], ha[65], hr[65];
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[7];
	json_t *row = NULL;
	unsigned scopes;
	long rows = 0;
	int rc;

	if (!old) {
		oauth_error(rq, rs, 400, "invalid_request", "refresh_token is required", false);
		return;
	}
	if (!token_syntax_ok(old, strlen(old))) {
		oauth_error(rq, rs, 400, "invalid_grant", "the refresh token is not valid", false);
		return;
	}
	api_sha256_hex(old, strlen(old), hold);
	p[0] = hold;
	rc = api_query(rq, rs, "api.token.lookup", 1, p, &row);
	if (rc < 0 && rc != WEIR_ENOTFOUND)
		goto out; /* answered */
	if (rc == WEIR_ENOTFOUND || strcmp(api_jstr(row, "kind"), "refresh") ||
	    strcmp(api_jstr(row, "client_id"), c->id)) {
		oauth_error(rq, rs, 400, "invalid_grant", "the refresh token is not valid", false);
		goto out;
	}
	if (json_is_true(json_object_get(row, "revoked"))) {
		/* Reuse of a rotated token: someone else may hold it.  Kill
		 * everything issued from that grant. */
		const char *f[1] = {json_string_value(json_object_get(row, "family"))};
		weir_buf_reset(&err);
		api_token_cache_clear(rq->ctx->tokens);
		if (f[0] && weir_store_exec(rq->st, "api.token.revoke_family", 1, f, &rows, &err) < 0)
			weir_warn("request %s: could not revoke a token family: %s", rq->request_id, err.buf);
		oauth_error(rq, rs, 400, "invalid_grant", "the refresh token was already used or revoked", false);
		goto out;
	}
	if (json_is_true(json_object_get(row, "expired"))) {
		oauth_error(rq, rs, 400, "invalid_grant", "the refresh token expired", false);
		goto out;
	}
	if (grant_scopes(rq, rs, api_scopes_from_json(json_object_get(row, "scopes")), in_get(in, "scope"),
			 &scopes) < 0)
		goto out;
	new_token(access);
	new_token(refresh);
	api_sha256_hex(access, TOKEN_CHARS, ha);
	api_sha256_hex(refresh, TOKEN_CHARS, hr);
	p[1] = c->id;
	p[2] = ha;
	p[3] = hr;
	p[4] = api_json_text(&rq->arena, api_keep(rq, api_scopes_to_json(scopes)));
	p[5] = api_i64(&rq->arena, c->ttl_s);
	p[6] = api_i64(&rq->arena, rq->ctx->refresh_ttl_s > 0 ? rq->ctx->refresh_ttl_s : 2592000);
	weir_buf_reset(&err);
	rc = weir_store_exec(rq->st, "api.token.rotate", 7, p, &rows, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not rotate the refresh token", &err);
	else if (rows != 2)
		oauth_error(rq, rs, 400, "invalid_grant", "the refresh token was already used or revoked", false);
	else
		token_response(rq, rs, access, c->ttl_s, refresh, scopes);
	sodium_memzero(access, sizeof(access));
	sodium_memzero(refresh, sizeof(refresh));
out:
	weir_buf_release(&err);
}

void api_h_token(struct api_req *rq, struct api_resp *rs)
{
	struct oauth_in in;
	struct client_row c;
	const char *grant;

	if (oauth_read(rq, rs, &in) < 0)
		return;
	grant = in_get(&in, "grant_type");
	if (!grant) {
		oauth_error(rq, rs, 400, "invalid_request", "grant_type is required", in.basic);
		return;
	}
	if (strcmp(grant, "client_credentials") && strcmp(grant, "password") &&
	    strcmp(grant, "refresh_token")) {
		oauth_error(rq, rs, 400, "unsupported_grant_type",
			    "grant_type must be client_credentials, password or refresh_token", in.basic);
		return;
	}
	if (oauth_client(rq, rs, &in, &c) < 0)
		return;
	if (!strcmp(grant, "client_credentials"))
		grant_client_credentials(rq, rs, &in, &c);
	else if (!strcmp(grant, "password"))
		grant_password(rq, rs, &in, &c);
	else
		grant_refresh(rq, rs, &in, &c);
}

void api_h_revoke(struct api_req *rq, struct api_resp *rs)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct oauth_in in;
	struct client_row c;
	const char *tok, *p[2];
	char h[65];
	long rows = 0;
	int rc;

	if (oauth_read(rq, rs, &in) < 0 || oauth_client(rq, rs, &in, &c) < 0)
		return;
	tok = in_get(&in, "token");
	if (!tok) {
		oauth_error(rq, rs, 400, "invalid_request", "token is required", in.basic);
		return;
	}
	/* RFC 7009 §2.2: an unknown or foreign token is not an error. */
	if (token_syntax_ok(tok, strlen(tok))) {
		api_sha256_hex(tok, strlen(tok), h);
		p[0] = h;
		p[1] = c.id;
		rc = weir_store_exec(rq->st, "api.token.revoke", 2, p, &rows, &err);
		api_token_cache_clear(rq->ctx->tokens);
		if (rc < 0) {
			api_store_error(rq, rs, rc, "could not revoke the token", &err);
			weir_buf_release(&err);
			return;
		}
	}
	weir_buf_release(&err);
	api_empty(rs, 200);
	api_header(rq, rs, "Cache-Control", "no-store");
}

void api_h_introspect(struct api_req *rq, struct api_resp *rs)
{
	struct oauth_in in;
	struct client_row c;
	const char *tok, *p[1];
	char h[65];
	json_t *row = NULL, *out;
	int rc;

	if (oauth_read(rq, rs, &in) < 0 || oauth_client(rq, rs, &in, &c) < 0)
		return;
	tok = in_get(&in, "token");
	if (!tok) {
		oauth_error(rq, rs, 400, "invalid_request", "token is required", in.basic);
		return;
	}
	out = json_pack("{s:b}", "active", 0);
	if (token_syntax_ok(tok, strlen(tok))) {
		api_sha256_hex(tok, strlen(tok), h);
		p[0] = h;
		rc = api_query(rq, rs, "api.token.lookup", 1, p, &row);
		if (rc < 0 && rc != WEIR_ENOTFOUND) {
			json_decref(out);
			return; /* answered */
		}
		/* A client learns about its own tokens only, unless it is admin. */
		if (rc == 0 && !json_is_true(json_object_get(row, "revoked")) &&
		    !json_is_true(json_object_get(row, "expired")) &&
		    ((c.scopes & API_SCOPE_ADMIN) ||
		     !strcmp(api_jstr(row, "client_id"), c.id))) {
			const char *kind = json_string_value(json_object_get(row, "kind"));
			json_decref(out);
			out = json_pack("{s:b, s:s, s:O, s:s, s:O, s:O}", "active", 1, "scope",
					api_scopes_string(&rq->arena,
							  api_scopes_from_json(json_object_get(row, "scopes"))),
					"client_id", json_object_get(row, "client_id"), "token_type",
					kind && !strcmp(kind, "refresh") ? "refresh_token" : "Bearer", "exp",
					json_object_get(row, "exp"), "iat", json_object_get(row, "iat"));
			if (json_is_string(json_object_get(row, "username")))
				json_object_set(out, "username", json_object_get(row, "username"));
		}
	}
	api_json(rs, 200, out);
	api_header(rq, rs, "Cache-Control", "no-store");
}

/* ------------------------------------------------------------------ */
/* clients and users (shared with the CLI)                              */
/* ------------------------------------------------------------------ */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 100)
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static int client_insert(struct weir_store *st, const char *name, unsigned scopes, int64_t ttl_s,
			 char id[WEIR_API_CLIENT_ID_BUFSZ], char secret[WEIR_API_SECRET_BUFSZ],
			 struct weir_buf *err)
{
	char h[65], ttl[24];
	json_t *sj = api_scopes_to_json(scopes);
	char *sjt = json_dumps(sj, JSON_COMPACT);
	const char *p[5];
	long rows = 0;
	int rc;

	if (sodium_init() < 0) {
		weir_buf_addstr(err, "libsodium could not start");
		rc = WEIR_EINVALID;
		goto out;
	}
	new_client_id(id);
	new_token(secret);
	api_sha256_hex(secret, strlen(secret), h);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_s > 0 ? ttl_s : 3600));
	p[0] = id;
	p[1] = name;
	p[2] = h;
	p[3] = sjt;
	p[4] = ttl;
	rc = weir_store_exec(st, "api.client.insert", 5, p, &rows, err);
	if (rc == WEIR_EEXISTS) {
		weir_buf_reset(err);
		weir_buf_addf(err, "a client named \"%s\" already exists", name);
	}
out:
	if (rc < 0) {
		sodium_memzero(secret, WEIR_API_SECRET_BUFSZ);
		id[0] = secret[0] = '\0';
	}
	free(sjt);
	json_decref(sj);
	return rc;
}

int weir_api_client_create(struct weir_store *st, const char *name, const char *scopes,
			   int64_t ttl_s, char id[WEIR_API_CLIENT_ID_BUFSZ],
			   char secret[WEIR_API_SECRET_BUFSZ], struct weir_buf *err)
{
	unsigned bits;

	id[0] = secret[0] = '\0';
	if (!name || !name_ok(name)) {
		weir_buf_addstr(err, "a client name must have 1 to 100 printable characters");
		return WEIR_EINVALID;
	}
	if (api_scopes_parse(scopes, &bits, err) < 0)
		return WEIR_EINVALID;
	if (!bits) {
		weir_buf_addstr(err, "a client needs at least one scope");
		return WEIR_EINVALID;
	}
	if (ttl_s > 31536000) {
		weir_buf_addstr(err, "the token lifetime is at most one year");
		return WEIR_EINVALID;
	}
	return client_insert(st, name, bits, ttl_s, id, secret, err);
}

int weir_api_bootstrap_admin(struct weir_store *st, char id[WEIR_API_CLIENT_ID_BUFSZ],
			     char secret[WEIR_API_SECRET_BUFSZ], bool *created, struct weir_buf *err)
{
	char h[65];
	const char *p[4];
	long rows = 0;
	int rc;

	*created = false;
	if (sodium_init() < 0) {
		weir_buf_addstr(err, "libsodium could not start");
		return WEIR_EINVALID;
	}
	new_client_id(id);
	new_token(secret);
	api_sha256_hex(secret, strlen(secret), h);
	p[0] = id;
	p[1] = "admin";
	p[2] = h;
	p[3] = "3600";
	rc = weir_store_exec(st, "api.client.bootstrap_admin", 4, p, &rows, err);
	if (rc == WEIR_EEXISTS) {
		/* A live client is already called "admin" (without the scope,
		 * or created concurrently): use a distinct name. */
		weir_buf_reset(err);
		p[1] = "weir-admin";
		rc = weir_store_exec(st, "api.client.bootstrap_admin", 4, p, &rows, err);
	}
	if (rc < 0 || rows == 0) {
		sodium_memzero(secret, WEIR_API_SECRET_BUFSZ);
		id[0] = secret[0] = '\0';
		return rc == WEIR_EEXISTS ? 0 : rc;
	}
	*created = true;
	return 0;
}

static int password_ok(const char *pw, struct weir_buf *err)
{
	size_t n = strlen(pw);

	if (n < 8 || n > 1024) {
		weir_buf_addstr(err, "a password needs 8 to 1024 characters");
		return WEIR_EINVALID;
	}
	return 0;
}

int weir_api_user_create(struct weir_store *st, const char *username, const char *password,
			 const char *scopes, struct weir_buf *err)
{
	char hash[crypto_pwhash_STRBYTES];
	unsigned bits;
	json_t *sj;
	char *sjt;
	const char *p[3];
	long rows = 0;
	int rc;

	if (!username || !name_ok(username)) {
		weir_buf_addstr(err, "a user name must have 1 to 100 printable characters");
		return WEIR_EINVALID;
	}
	if (!password || password_ok(password, err) < 0)
		return WEIR_EINVALID;
	if (api_scopes_parse(scopes, &bits, err) < 0)
		return WEIR_EINVALID;
	if (sodium_init() < 0 || hash_password(password, hash) < 0) {
		weir_buf_addstr(err, "could not hash the password (out of memory?)");
		return WEIR_EINVALID;
	}
	sj = api_scopes_to_json(bits);
	sjt = json_dumps(sj, JSON_COMPACT);
	p[0] = username;
	p[1] = hash;
	p[2] = sjt;
	rc = weir_store_exec(st, "api.user.insert", 3, p, &rows, err);
	if (rc == WEIR_EEXISTS) {
		weir_buf_reset(err);
		weir_buf_addf(err, "a user named \"%s\" already exists", username);
	}
	free(sjt);
	json_decref(sj);
	return rc;
}

int weir_api_clients_list(struct weir_store *st, void **out, struct weir_buf *err)
{
	const char *p[2] = {"1000000", "0"};
	json_t *j = NULL;
	int rc = weir_store_query_json(st, "api.clients.list", 2, p, &j, err);

	*out = rc == 0 ? j : NULL;
	return rc;
}

/* ------------------------------------------------------------------ */
/* /api/v1/clients                                                      */
/* ------------------------------------------------------------------ */

/* scopes given as an array of names or a space/comma-separated string. */
static int body_scopes(struct api_req *rq, struct api_resp *rs, json_t *v, unsigned *out)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	struct weir_buf list = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	size_t i;
	json_t *e;
	int rc = 0;

	if (json_is_string(v)) {
		weir_buf_addstr(&list, json_string_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				api_error(rq, rs, 400, "scopes", "scopes must be an array of strings");
				rc = -1;
				goto out;
			}
			weir_buf_addf(&list, "%s ", json_string_value(e));
		}
	} else {
		api_error(rq, rs, 400, "scopes", "scopes must be an array of strings");
		rc = -1;
		goto out;
	}
	if (api_scopes_parse(list.buf, out, &err) < 0) {
		api_error(rq, rs, 422, "scopes", "%s", err.buf);
		rc = -1;
	}
out:
	weir_buf_release(&err);
	weir_buf_release(&list);
	return rc;
}

static void list_with_paging(struct api_req *rq, struct api_resp *rs, const char *query)
{
	static const char *const known[] = {"limit", "offset", NULL};
	const char *p[2];

	if (api_args_known(rq, rs, known) < 0 || api_paging(rq, rs, 100, 10000, &p[0], &p[1]) < 0)
		return;
	api_pass(rq, rs, 200, query, 2, p, "");
}

void api_h_clients_list(struct api_req *rq, struct api_resp *rs)
{
	list_with_paging(rq, rs, "api.clients.list");
}

static void client_answer(struct api_req *rq, struct api_resp *rs, const char *id, int status,
			  const char *secret)
{
	const char *p[1] = {id};
	json_t *j = NULL;

	if (api_query_or_answer(rq, rs, "api.client.get", 1, p, &j, "no such client") < 0)
		return;
	if (secret)
		json_object_set_new(j, "client_secret", json_string(secret));
	api_json(rs, status, j);
}

void api_h_client_post(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"name", API_F_STRING, false},
		{"scopes", API_F_ANY, false},
		{"token_lifetime", API_F_INT, true},
		{NULL, 0, false},
	};
	json_t *b = rq->json, *tl;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char id[WEIR_API_CLIENT_ID_BUFSZ], secret[WEIR_API_SECRET_BUFSZ];
	const char *name;
	unsigned scopes = 0;
	int64_t ttl = 0;
	int rc;

	if (api_body_check(rq, rs, b, fields) < 0)
		return;
	name = json_string_value(json_object_get(b, "name"));
	if (!name || !name_ok(name)) {
		api_error(rq, rs, 400, "name", "name is required (1 to 100 printable characters)");
		return;
	}
	if (!json_object_get(b, "scopes")) {
		api_error(rq, rs, 400, "scopes", "scopes is required");
		return;
	}
	if (body_scopes(rq, rs, json_object_get(b, "scopes"), &scopes) < 0)
		return;
	if (!scopes) {
		api_error(rq, rs, 422, "scopes", "a client needs at least one scope");
		return;
	}
	tl = json_object_get(b, "token_lifetime");
	if (json_is_integer(tl)) {
		ttl = json_integer_value(tl);
		if (ttl < 1 || ttl > 31536000) {
			api_error(rq, rs, 422, "token_lifetime", "token_lifetime is 1 to 31536000 seconds");
			return;
		}
	} else {
		ttl = rq->ctx->token_ttl_s;
	}
	if (!api_store(rq, rs))
		return;
	rc = client_insert(rq->st, name, scopes, ttl, id, secret, &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not create the client", &err);
	else
		client_answer(rq, rs, id, 201, secret);
	sodium_memzero(secret, sizeof(secret));
	weir_buf_release(&err);
}

void api_h_client_get(struct api_req *rq, struct api_resp *rs)
{
	client_answer(rq, rs, rq->param[0], 200, NULL);
}

void api_h_client_patch(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"name", API_F_STRING, false},
		{"scopes", API_F_ANY, false},
		{"token_lifetime", API_F_INT, false},
		{"client_id", API_F_READONLY, false},
		{NULL, 0, false},
	};
	json_t *b = rq->json;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[4] = {rq->param[0], NULL, NULL, NULL};
	long rows = 0;
	int rc;

	if (api_body_check(rq, rs, b, fields) < 0)
		return;
	if (json_object_get(b, "name")) {
		p[1] = json_string_value(json_object_get(b, "name"));
		if (!name_ok(p[1])) {
			api_error(rq, rs, 400, "name", "name must have 1 to 100 printable characters");
			return;
		}
	}
	if (json_object_get(b, "scopes")) {
		unsigned s;
		if (body_scopes(rq, rs, json_object_get(b, "scopes"), &s) < 0)
			return;
		if (!s) {
			api_error(rq, rs, 422, "scopes", "a client needs at least one scope");
			return;
		}
		p[2] = api_json_text(&rq->arena, api_keep(rq, api_scopes_to_json(s)));
	}
	if (json_object_get(b, "token_lifetime")) {
		int64_t t = json_integer_value(json_object_get(b, "token_lifetime"));
		if (t < 1 || t > 31536000) {
			api_error(rq, rs, 422, "token_lifetime", "token_lifetime is 1 to 31536000 seconds");
			return;
		}
		p[3] = api_i64(&rq->arena, t);
	}
	if (!api_store(rq, rs))
		return;
	rc = weir_store_exec(rq->st, "api.client.update", 4, p, &rows, &err);
	api_token_cache_clear(rq->ctx->tokens);
	if (rc < 0)
		api_store_error(rq, rs, rc == WEIR_EEXISTS ? WEIR_ECONFLICT : rc, "could not update the client",
				&err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such client");
	else
		client_answer(rq, rs, rq->param[0], 200, NULL);
	weir_buf_release(&err);
}

static void delete_named(struct api_req *rq, struct api_resp *rs, const char *stmt, const char *what)
{
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *p[1] = {rq->param[0]};
	long rows = 0;
	int rc;

	if (!api_store(rq, rs))
		return;
	rc = weir_store_exec(rq->st, stmt, 1, p, &rows, &err);
	api_token_cache_clear(rq->ctx->tokens);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not delete", &err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such %s", what);
	else
		api_empty(rs, 204);
	weir_buf_release(&err);
}

void api_h_client_delete(struct api_req *rq, struct api_resp *rs)
{
	delete_named(rq, rs, "api.client.delete", "client");
}

/* ------------------------------------------------------------------ */
/* /api/v1/users                                                        */
/* ------------------------------------------------------------------ */

void api_h_users_list(struct api_req *rq, struct api_resp *rs)
{
	list_with_paging(rq, rs, "api.users.list");
}

static void user_answer(struct api_req *rq, struct api_resp *rs, const char *name, int status)
{
	const char *p[1] = {name};

	api_pass(rq, rs, status, "api.user.get", 1, p, "no such user");
}

void api_h_user_post(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"username", API_F_STRING, false},
		{"password", API_F_STRING, false},
		{"scopes", API_F_ANY, false},
		{NULL, 0, false},
	};
	json_t *b = rq->json;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	const char *name, *pw;
	unsigned scopes = 0;
	int rc;

	if (api_body_check(rq, rs, b, fields) < 0)
		return;
	name = json_string_value(json_object_get(b, "username"));
	pw = json_string_value(json_object_get(b, "password"));
	if (!name || !name_ok(name)) {
		api_error(rq, rs, 400, "username", "username is required (1 to 100 printable characters)");
		return;
	}
	if (!pw) {
		api_error(rq, rs, 400, "password", "password is required");
		return;
	}
	if (password_ok(pw, &err) < 0) {
		api_error(rq, rs, 422, "password", "%s", err.buf);
		weir_buf_release(&err);
		return;
	}
	if (json_object_get(b, "scopes") && body_scopes(rq, rs, json_object_get(b, "scopes"), &scopes) < 0)
		return;
	if (!api_store(rq, rs))
		return;
	rc = weir_api_user_create(rq->st, name, pw, api_scopes_string(&rq->arena, scopes), &err);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not create the user", &err);
	else
		user_answer(rq, rs, name, 201);
	weir_buf_release(&err);
}

void api_h_user_get(struct api_req *rq, struct api_resp *rs)
{
	user_answer(rq, rs, rq->param[0], 200);
}

void api_h_user_patch(struct api_req *rq, struct api_resp *rs)
{
	static const struct api_field fields[] = {
		{"password", API_F_STRING, false},
		{"scopes", API_F_ANY, false},
		{"username", API_F_READONLY, false},
		{NULL, 0, false},
	};
	json_t *b = rq->json;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	char hash[crypto_pwhash_STRBYTES];
	const char *p[3] = {rq->param[0], NULL, NULL};
	long rows = 0;
	int rc;

	if (api_body_check(rq, rs, b, fields) < 0)
		goto out;
	if (json_object_get(b, "scopes")) {
		unsigned s;
		if (body_scopes(rq, rs, json_object_get(b, "scopes"), &s) < 0)
			goto out;
		p[2] = api_json_text(&rq->arena, api_keep(rq, api_scopes_to_json(s)));
	}
	if (json_object_get(b, "password")) {
		const char *pw = json_string_value(json_object_get(b, "password"));
		if (password_ok(pw, &err) < 0) {
			api_error(rq, rs, 422, "password", "%s", err.buf);
			goto out;
		}
		if (hash_password(pw, hash) < 0) {
			api_error(rq, rs, 503, NULL, "could not hash the password; try again");
			goto out;
		}
		p[1] = hash;
	}
	if (!api_store(rq, rs))
		goto out;
	rc = weir_store_exec(rq->st, "api.user.update", 3, p, &rows, &err);
	api_token_cache_clear(rq->ctx->tokens);
	if (rc < 0)
		api_store_error(rq, rs, rc, "could not update the user", &err);
	else if (rows == 0)
		api_error(rq, rs, 404, NULL, "no such user");
	else
		user_answer(rq, rs, rq->param[0], 200);
out:
	weir_buf_release(&err);
}

void api_h_user_delete(struct api_req *rq, struct api_resp *rs)
{
	delete_named(rq, rs, "api.user.delete", "user");
}
