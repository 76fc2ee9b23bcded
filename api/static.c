/*
 * static.c: the web UI's files (ui-static/) at "/".
 *
 * Paths outside /api and /oauth that no route claims are files of the UI
 * folder (ctx->ui_dir, resolved once at start).  A path is accepted only
 * when every decoded segment is a plain name: no "", ".", "..", hidden
 * names, '/' or '\' inside a segment; and the resolved file must still be
 * inside the folder (symbolic links cannot lead out).  A path without an
 * extension that names no file gets index.html, so the UI can route on
 * the client side.
 *
 * Caching: a strong ETag from size and modification time (If-None-Match
 * gives 304); HTML is revalidated on every load (no-cache), other files
 * are cached for an hour.  Every answer carries a strict
 * Content-Security-Policy (default-src 'self').
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/buf.h"
#include "common/xalloc.h"

#define CSP "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; " \
	    "form-action 'self'; frame-ancestors 'none'"

static const char *const types[][2] = {
	{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"}, {".json", "application/json"},
	{".map", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
	{".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
	{".webp", "image/webp"}, {".ico", "image/x-icon"}, {".woff", "font/woff"},
	{".woff2", "font/woff2"}, {".ttf", "font/ttf"}, {".txt", "text/plain; charset=utf-8"},
	{".wasm", "application/wasm"}, {".xml", "application/xml"}, {".webmanifest", "application/manifest+json"},
};

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot)
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(types); i++)
			if (!strcasecmp(dot, types[i][0]))
				return types[i][1];
	return "application/octet-stream";
}

/* Decodes path into a relative file name; NULL when it is not acceptable. */
static char *safe_relative(struct api_req *rq, const char *path)
{
	struct weir_buf b = WEIR_BUF_INIT(PATH_MAX);
	const char *p = path;
	char *out;

	while (*p == '/') {
		size_t n;
		char *seg;
		p++;
		n = strcspn(p, "/");
		if (n == 0) {
			if (*p == '\0')
				break; /* trailing slash: the folder's index */
			goto bad;
		}
		seg = api_unescape(&rq->arena, p, n, false);
		if (!seg || seg[0] == '.' || strchr(seg, '/') || strchr(seg, '\\') || !*seg)
			goto bad;
		if (weir_buf_addf(&b, "%s%s", b.len ? "/" : "", seg) < 0)
			goto bad;
		p += n;
	}
	if (*p)
		goto bad;
	if (b.len == 0 || path[strlen(path) - 1] == '/') {
		if (weir_buf_addf(&b, "%sindex.html", b.len ? "/" : "") < 0)
			goto bad;
	}
	out = weir_arena_strdup(&rq->arena, b.buf);
	weir_buf_release(&b);
	return out;
bad:
	weir_buf_release(&b);
	return NULL;
}

/* Opens ui_dir/rel when it is a regular file inside ui_dir; -1 otherwise. */
static int open_inside(const char *dir, const char *rel, struct stat *sb)
{
	char *full = weir_xasprintf("%s/%s", dir, rel);
	char real[PATH_MAX];
	size_t n = strlen(dir);
	int fd = -1;

	if (realpath(full, real) && !strncmp(real, dir, n) && real[n] == '/') {
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	free(full);
	return fd;
}

static bool etag_match(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p;

	if (!inm)
		return false;
	if (!strcmp(inm, "*"))
		return true;
	for (p = inm; (p = strstr(p, etag)); p += n) {
		char after = p[n];
		if (after == '\0' || after == ',' || after == ' ')
			return true;
	}
	return false;
}

bool api_static(struct api_req *rq, struct api_resp *rs)
{
	const char *path = rq->path, *rel, *name;
	char etag[64];
	struct stat sb;
	int fd;

	if (!strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strncmp(path, "/oauth/", 7) ||
	    !strcmp(path, "/oauth"))
		return false;
	rq->is_static = true;
	if (!rq->ctx->ui_dir) {
		api_error(rq, rs, 404, NULL, "no web UI is installed (set ui_dir)");
		return true;
	}
	rel = safe_relative(rq, path);
	if (!rel) {
		api_error(rq, rs, 404, NULL, "no such file");
		return true;
	}
	fd = open_inside(rq->ctx->ui_dir, rel, &sb);
	name = rel;
	if (fd < 0) {
		const char *last = strrchr(rel, '/');
		last = last ? last + 1 : rel;
		if (strchr(last, '.')) {
			api_error(rq, rs, 404, NULL, "no such file");
			return true;
		}
		name = "index.html";
		fd = open_inside(rq->ctx->ui_dir, name, &sb);
		if (fd < 0) {
			api_error(rq, rs, 404, NULL, "no such file");
			return true;
		}
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb.st_size,
		 (unsigned long long)sb.st_mtim.tv_sec * 1000000000ull + (unsigned long long)sb.st_mtim.tv_nsec);
	api_header(rq, rs, "ETag", etag);
	api_header(rq, rs, "Cache-Control",
		   strstr(content_type(name), "text/html") ? "no-cache" : "public, max-age=3600");
	api_header(rq, rs, "Content-Security-Policy", CSP);
	api_header(rq, rs, "X-Content-Type-Options", "nosniff");
	api_header(rq, rs, "Referrer-Policy", "no-referrer");
	api_header(rq, rs, "X-Frame-Options", "DENY");
	if (etag_match(rq->if_none_match, etag)) {
		close(fd);
		api_empty(rs, 304);
		return true;
	}
	api_empty(rs, 200);
	rs->content_type = content_type(name);
	rs->fd = fd;
	rs->fd_off = 0;
	rs->len = (size_t)sb.st_size;
	return true;
}
