/*
 * cluster.h: weir's private PostgreSQL cluster (the embedded database).
 *
 * When no database URL is configured, weir keeps its own PostgreSQL 15
 * cluster under $WEIR_HOME, so a user needs no database set-up.  This
 * module creates it (initdb), starts it (pg_ctl), stops it, reports its
 * state, and makes sure the database `weir` exists with PostGIS and the
 * schema migrated.  docs/internals/cluster.md explains the design.
 *
 * Layout (all under $WEIR_HOME):
 *
 *   pg/                  owned by the server user, 0700
 *   pg/.lock             flock()ed by start and stop (one at a time)
 *   pg/data/             PGDATA; created as pg/data.tmp, renamed when ready
 *   pg/data/weir.conf    settings weir owns, rewritten at every start
 *   pg/run/              the unix socket directory, 0700; no TCP listener
 *   pg/postgres.log      the server's log (pg_ctl -l)
 *
 * The server user: the caller's user; as root, the owner of an existing
 * pg/data, else the `weir` system user (created with useradd when
 * missing).  initdb and pg_ctl run as that user; so does the server.
 *
 * The database role is `weir` (the cluster's superuser).  The local socket
 * uses trust authentication: the socket directory's permissions (0700,
 * owned by the server user) decide who can connect.
 *
 * States, as weir_cluster_status() reports them:
 *
 *   ABSENT  --start-->  RUNNING  --stop-->  STOPPED  --start-->  RUNNING
 *                          |                   ^
 *                          +--crash / kill -9--+  (a stale postmaster.pid
 *                                                  may remain; start
 *                                                  handles it)
 *
 * RUNNING means: postmaster.pid names a live process whose
 * /proc/PID/comm is "postgres" and whose working directory is our data
 * directory.  Anything else is a stale pid file.
 *
 * Processes: start fork+execs useradd, initdb and pg_ctl and waits for
 * each with waitpid(pid): call it before installing a SIGCHLD handler that
 * reaps with waitpid(-1).  stop only signals the verified postmaster.  The server itself is detached
 * (pg_ctl gives it its own session) and is not a child of the caller.
 * None of these functions is safe in a signal handler or a forked child.
 * A struct weir_cluster is used by one thread at a time.
 */
#ifndef WEIR_CLUSTER_H
#define WEIR_CLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/buf.h"

/* Where the Debian postgresql-15 package puts its programs. */
#define WEIR_CLUSTER_BINDIR "/usr/lib/postgresql/15/bin"
/* The PostgreSQL major version the cluster is created with. */
#define WEIR_CLUSTER_PG_MAJOR "15"
/* The system user the server runs as when weir runs as root. */
#define WEIR_CLUSTER_OS_USER "weir"
/* The database, its owner role, and the port (which only names the socket). */
#define WEIR_CLUSTER_DATABASE "weir"
#define WEIR_CLUSTER_ROLE "weir"
#define WEIR_CLUSTER_PORT 5432

enum weir_cluster_state {
	WEIR_CLUSTER_ABSENT,  /* no data directory */
	WEIR_CLUSTER_STOPPED, /* a data directory, no server (maybe a stale pid file) */
	WEIR_CLUSTER_RUNNING, /* our postmaster is alive (maybe still starting) */
};

/* What the last start or stop did (struct weir_cluster.did). */
enum {
	WEIR_CLUSTER_DID_USER = 1 << 0,     /* created the system user */
	WEIR_CLUSTER_DID_CREATE = 1 << 1,   /* ran initdb */
	WEIR_CLUSTER_DID_STALE = 1 << 2,    /* removed a stale postmaster.pid */
	WEIR_CLUSTER_DID_ORPHANS = 1 << 3,  /* waited for (or ended) a dead server's processes */
	WEIR_CLUSTER_DID_START = 1 << 4,    /* started the server */
	WEIR_CLUSTER_DID_DATABASE = 1 << 5, /* created the database */
	WEIR_CLUSTER_DID_STOP = 1 << 6,     /* stopped the server */
	WEIR_CLUSTER_DID_FORCE = 1 << 7,    /* stop needed an immediate shutdown */
};

struct weir_cluster {
	/* Read-only after init (owned). */
	char *home;      /* $WEIR_HOME, absolute */
	char *dir;       /* HOME/pg */
	char *data;      /* HOME/pg/data (PGDATA) */
	char *run;       /* HOME/pg/run (socket directory) */
	char *log;       /* HOME/pg/postgres.log */
	char *conninfo;  /* libpq key=value string for database weir */
	const char *bindir; /* WEIR_CLUSTER_BINDIR; a caller may point it elsewhere */

	/* Results of the last call (read-only). */
	long pid;        /* the postmaster's pid, or 0 */
	unsigned did;    /* WEIR_CLUSTER_DID_* of the last start or stop */
	char *os_user;   /* the server user's name, after start/stop (owned) */
	long start_ms;   /* how long the last start took (monotonic ms) */

	/* Private. */
	bool drop;       /* running as root: switch to uid/gid in children */
	uid_t uid;
	gid_t gid;
	gid_t *groups;   /* supplementary groups of the server user */
	int ngroups;
	int lock_fd;
};

/*
 * Sets up c for the cluster under home (absolute, or relative to the
 * current directory).  Touches nothing on disk.  Fails with WEIR_EINVALID
 * when a derived path cannot work: the socket path is longer than a unix
 * socket allows (107 bytes), or a path holds a character pg_ctl's shell
 * command cannot carry (" $ ` \ or a control character).  The message
 * names the path and suggests a shorter or plainer WEIR_HOME.  c is
 * usable by weir_cluster_release() either way.
 */
int weir_cluster_init(struct weir_cluster *c, const char *home, struct weir_buf *err);
void weir_cluster_release(struct weir_cluster *c);

/*
 * Makes the cluster run and the database usable; idempotent.  From any
 * state: creates the system user (as root) and the cluster if needed,
 * removes a stale postmaster.pid, waits for processes of a killed server
 * to exit (ending them with SIGQUIT after 10 s, giving up after 20 s),
 * starts the server (retrying with backoff while PostgreSQL reports its
 * old shared memory in use), waits until it accepts connections, creates
 * database weir with PostGIS and applies the migrations.  Already running
 * is success.  Appends one line per action to out (e.g. "created the
 * cluster in ...", "applied 0001_core"); sets c->did, c->pid, c->start_ms.
 * Returns 0, or a negative code with one message in err (initdb and
 * pg_ctl failures carry the tail of their output and of the server log).
 */
int weir_cluster_start(struct weir_cluster *c, struct weir_buf *out, struct weir_buf *err);

/*
 * Stops the server (fast shutdown: sessions are ended, a checkpoint is
 * written; after 60 s an immediate shutdown).  Not running, or no
 * cluster at all, is success with c->did == 0.  Never signals a process
 * that is not our postmaster (a stale pid file is left for start).
 * Sets c->did and c->pid (the pid that was stopped).
 */
int weir_cluster_stop(struct weir_cluster *c, struct weir_buf *err);

/*
 * Reports the state without changing anything (no lock, no processes).
 * *pid is the postmaster's pid when RUNNING, else 0.  Returns 0, or a
 * negative code when the data directory cannot be examined (e.g. it
 * belongs to another user, or holds another PostgreSQL major version).
 */
int weir_cluster_status(struct weir_cluster *c, enum weir_cluster_state *state, long *pid,
			struct weir_buf *err);

/* The conninfo of database weir (borrowed; valid until release). */
const char *weir_cluster_conninfo(const struct weir_cluster *c);

#endif
