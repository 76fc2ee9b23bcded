/* config.c: defaults < config file < WEIR_* environment < flags. */
#include "engine/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/str.h"
#include "common/xalloc.h"

static const char *const names[] = {
#define XX(id, name, def, help) name,
	WEIR_CONFIG_KEYS(XX)
#undef XX
	NULL,
};
static const char *const defaults[] = {
#define XX(id, name, def, help) def,
	WEIR_CONFIG_KEYS(XX)
#undef XX
};
static const char *const helps[] = {
#define XX(id, name, def, help) help,
	WEIR_CONFIG_KEYS(XX)
#undef XX
};

const char *weir_config_key_name(enum weir_config_key k)
{
	return names[k];
}

const char *weir_config_key_help(enum weir_config_key k)
{
	return helps[k];
}

const char *weir_config_source_name(enum weir_config_source s)
{
	static const char *const src[] = {"default", "file", "env", "flag"};
	return src[s];
}

void weir_config_set(struct weir_config *c, enum weir_config_key k, const char *value,
		     enum weir_config_source src)
{
	free(c->value[k]);
	c->value[k] = weir_xstrdup(value);
	c->source[k] = src;
}

const char *weir_config_get(const struct weir_config *c, enum weir_config_key k)
{
	return c->value[k];
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_file(struct weir_config *c, struct weir_buf *err)
{
	FILE *f = fopen(c->file, "re");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		weir_buf_addf(err, "%s: could not open config file: %s\n", c->file, strerror(errno));
		return WEIR_EINVALID;
	}
	c->file_exists = true;
	while (getline(&line, &cap, f) >= 0) {
		char *p, *eq, *key, *val;
		int k = -1;

		lineno++;
		p = trim(line);
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			weir_buf_addf(err, "%s:%d: expected \"key = value\"\n", c->file, lineno);
			rc = WEIR_EINVALID;
			continue;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (val[0] == '"') {
			size_t n = strlen(val);
			if (n < 2 || val[n - 1] != '"') {
				weir_buf_addf(err, "%s:%d: unterminated quoted value\n", c->file, lineno);
				rc = WEIR_EINVALID;
				continue;
			}
			val[n - 1] = '\0';
			val++;
		}
		for (int i = 0; names[i]; i++)
			if (!strcmp(names[i], key))
				k = i;
		if (k < 0 || k == WEIR_CFG_HOME) {
			const char *s = weir_str_suggest(key, names);
			if (k == WEIR_CFG_HOME)
				weir_buf_addf(err, "%s:%d: \"home\" cannot be set in the config file (use WEIR_HOME or --home)\n",
					      c->file, lineno);
			else if (s)
				weir_buf_addf(err, "%s:%d: unknown key \"%s\" (did you mean \"%s\"?)\n", c->file,
					      lineno, key, s);
			else
				weir_buf_addf(err, "%s:%d: unknown key \"%s\"\n", c->file, lineno, key);
			rc = WEIR_EINVALID;
			continue;
		}
		weir_config_set(c, (enum weir_config_key)k, val, WEIR_SRC_FILE);
	}
	free(line);
	fclose(f);
	return rc;
}

int weir_config_load(struct weir_config *c, const char *home_flag, struct weir_buf *err)
{
	const char *env;
	int rc;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < WEIR_CFG__COUNT; i++)
		weir_config_set(c, (enum weir_config_key)i, defaults[i] ? defaults[i] : "", WEIR_SRC_DEFAULT);

	/* Home first: it locates the file. */
	if (home_flag) {
		weir_config_set(c, WEIR_CFG_HOME, home_flag, WEIR_SRC_FLAG);
	} else if ((env = getenv("WEIR_HOME")) && *env) {
		weir_config_set(c, WEIR_CFG_HOME, env, WEIR_SRC_ENV);
	} else if (geteuid() == 0) {
		/* As root the private PostgreSQL runs as the `weir` system user,
		 * which cannot enter /root: use the system state directory. */
		weir_config_set(c, WEIR_CFG_HOME, "/var/lib/weir", WEIR_SRC_DEFAULT);
	} else {
		const char *h = getenv("HOME");
		char *def = weir_xasprintf("%s/.local/share/weir", h && *h ? h : "/tmp");
		weir_config_set(c, WEIR_CFG_HOME, def, WEIR_SRC_DEFAULT);
		free(def);
	}
	env = getenv("WEIR_CONFIG");
	c->file = env && *env ? weir_xstrdup(env)
			      : weir_xasprintf("%s/weir.conf", c->value[WEIR_CFG_HOME]);
	rc = parse_file(c, err);

	for (int i = 0; names[i]; i++) {
		char var[64];
		size_t n = (size_t)snprintf(var, sizeof(var), "WEIR_%s", names[i]);
		if (i == WEIR_CFG_HOME)
			continue;
		for (size_t j = 5; j < n; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		env = getenv(var);
		if (env)
			weir_config_set(c, (enum weir_config_key)i, env, WEIR_SRC_ENV);
	}
	/* dags_folder default: ./dags when it exists, else HOME/dags. */
	if (c->source[WEIR_CFG_DAGS_FOLDER] == WEIR_SRC_DEFAULT) {
		struct stat st;
		char *p;
		if (stat("dags", &st) == 0 && S_ISDIR(st.st_mode)) {
			char cwd[4096];
			p = getcwd(cwd, sizeof(cwd)) ? weir_xasprintf("%s/dags", cwd) : weir_xstrdup("dags");
		} else {
			p = weir_xasprintf("%s/dags", c->value[WEIR_CFG_HOME]);
		}
		weir_config_set(c, WEIR_CFG_DAGS_FOLDER, p, WEIR_SRC_DEFAULT);
		free(p);
	}
	return rc;
}

void weir_config_release(struct weir_config *c)
{
	for (int i = 0; i < WEIR_CFG__COUNT; i++)
		free(c->value[i]);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

char *weir_config_masked(const struct weir_config *c, enum weir_config_key k)
{
	const char *v = c->value[k];
	char *out = weir_xstrdup(v);
	char *p;

	if (k != WEIR_CFG_DATABASE_URL)
		return out;
	/* URI: scheme://user:PASSWORD@host */
	p = strstr(out, "://");
	if (p) {
		char *at = strchr(p + 3, '@');
		char *colon = strchr(p + 3, ':');
		if (at && colon && colon < at) {
			char *m = weir_xasprintf("%.*s:****%s", (int)(colon - out), out, at);
			free(out);
			return m;
		}
	}
	/* DSN: password=SECRET */
	p = strstr(out, "password=");
	if (p) {
		char *end = p + 9;
		char *m;
		if (*end == '\'') {
			end++;
			while (*end && *end != '\'')
				end += (*end == '\\' && end[1]) ? 2 : 1;
			if (*end)
				end++;
		} else {
			while (*end && !isspace((unsigned char)*end))
				end++;
		}
		m = weir_xasprintf("%.*spassword=****%s", (int)(p - out), out, end);
		free(out);
		return m;
	}
	return out;
}
