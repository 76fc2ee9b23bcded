/* dagfiles.c: finding DAG files in a folder (recursively, sorted). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/str.h"
#include "engine/dag.h"

bool weir_dag_file_name(const char *name)
{
	return name[0] != '.' && (weir_str_endswith(name, ".yaml") || weir_str_endswith(name, ".yml"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int weir_dag_files(const char *path, struct weir_strvec *out, struct weir_buf *err)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	struct weir_strvec here = WEIR_STRVEC_INIT;

	if (stat(path, &st) < 0) {
		weir_buf_addf(err, "could not open \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		weir_strvec_push(out, path);
		return 0;
	}
	d = opendir(path);
	if (!d) {
		weir_buf_addf(err, "could not open folder \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		weir_strvec_pushf(&here, "%s%s%s", path, weir_str_endswith(path, "/") ? "" : "/", e->d_name);
	}
	closedir(d);
	qsort(here.v, here.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < here.n; i++) {
		const char *base = strrchr(here.v[i], '/') + 1;
		if (stat(here.v[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			weir_dag_files(here.v[i], out, err);
		else if (weir_dag_file_name(base))
			weir_strvec_push(out, here.v[i]);
	}
	weir_strvec_clear(&here);
	return 0;
}
