/* cmd_cron.c: weir cron next (single expression or bulk from stdin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/time.h"
#include "engine/cli/cli.h"
#include "engine/cron.h"

/* Prints n fire times of expr; on error prints the message into err. */
static int next_times(const char *expr, const char *tzname, int64_t after, long n, FILE *out,
		      bool one_line, struct weir_buf *err)
{
	struct weir_cron cron;
	const struct weir_tz *tz = weir_tz_utc();
	char buf[WEIR_ISO_BUFSZ];
	size_t off;

	if (tzname && *tzname && weir_tz_get(tzname, &tz, err) < 0)
		return WEIR_EINVALID;
	if (weir_cron_parse(expr, &cron, &off, err) < 0)
		return WEIR_EINVALID;
	if (cron.flags & WEIR_CRON_ONCE) {
		weir_buf_addf(err, "@once has no fire times of its own");
		return WEIR_EINVALID;
	}
	for (long i = 0; i < n; i++) {
		int64_t next;
		if (weir_cron_next(&cron, tz, after, &next) < 0)
			break;
		fprintf(out, "%s%s", one_line && i ? "\t" : "", weir_iso_format(next, 0, buf));
		if (!one_line)
			fputc('\n', out);
		after = next;
	}
	if (one_line)
		fputc('\n', out);
	return 0;
}

static int bulk(struct weir_cli *cli, long n, int64_t def_after, const char *def_tz)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = WEIR_EXIT_OK;
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);

	(void)cli;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *expr = line, *tz = NULL, *after_s = NULL, *tab;
		int64_t after = def_after;
		bool off;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		tab = strchr(expr, '\t');
		if (tab) {
			*tab = '\0';
			tz = tab + 1;
			tab = strchr(tz, '\t');
			if (tab) {
				*tab = '\0';
				after_s = tab + 1;
			}
		}
		weir_buf_reset(&err);
		if (after_s && *after_s && weir_iso_parse(after_s, &after, &off) < 0) {
			printf("ERROR\tinvalid instant \"%s\"\n", after_s);
			rc = WEIR_EXIT_INVALID;
			continue;
		}
		if (next_times(expr, tz && *tz ? tz : def_tz, after, n, stdout, true, &err) < 0) {
			printf("ERROR\t%s\n", err.buf);
			rc = WEIR_EXIT_INVALID;
		}
	}
	free(line);
	weir_buf_release(&err);
	return rc;
}

int weir_cmd_cron_next(struct weir_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"tz", required_argument, NULL, 't'},
		{"after", required_argument, NULL, 'a'},
		{"count", required_argument, NULL, 'n'},
		{0, 0, 0, 0},
	};
	const char *tz = NULL;
	long n = -1;
	int64_t after = weir_now_us();
	struct weir_buf err = WEIR_BUF_INIT(WEIR_BUF_NOLIMIT);
	int c, rc;
	bool off;

	while ((c = weir_cli_getopt(cli, argc, argv, "n:", opts)) != -1) {
		if (c == 't')
			tz = optarg;
		else if (c == 'n')
			n = weir_cli_parse_count(cli, "--count", optarg, 100000);
		else if (c == 'a' && weir_iso_parse(optarg, &after, &off) < 0)
			return weir_cli_usage_error(cli, "--after must be an ISO-8601 instant like 2026-01-31T06:00:00Z, not \"%s\"", optarg);
	}
	if (optind != argc - 1)
		return weir_cli_usage_error(cli, "expected one cron expression (quote it) or \"-\"");
	if (!strcmp(argv[optind], "-"))
		return bulk(cli, n < 0 ? 1 : n, after, tz);
	rc = next_times(argv[optind], tz, after, n < 0 ? 5 : n, stdout, false, &err);
	if (rc < 0) {
		fprintf(stderr, "weir: invalid cron expression \"%s\": %s\n", argv[optind], err.buf);
		rc = WEIR_EXIT_INVALID;
	}
	weir_buf_release(&err);
	return rc;
}
