/*
 * node.h: a parsed YAML document as a tree that remembers positions.
 *
 * engine/yaml.c (the only user of libyaml) builds it; the DAG validator and
 * operators' validate() callbacks read it, so every error can say
 * file:line:col.  All nodes and strings live in one arena owned by the
 * caller; nothing is freed individually.
 *
 *   scalar   str/len, plus `plain` (unquoted) so typing follows YAML 1.2's
 *            core schema: plain null/~/"" is null, true/false are booleans,
 *            plain numbers are numbers; quoted scalars are always strings
 *   seq      items[0..n)
 *   map      keys[i] -> items[i], i in [0..n), keys are scalars, in file
 *            order, unique (duplicates are a load error)
 *
 * Aliases (*ref) share the anchored node instead of copying it: the tree is
 * a DAG.  The loader bounds the *expanded* size (every alias counts its
 * whole subtree again), so walking it, or converting it to JSON, stays
 * within the limit even for an alias bomb.
 */
#ifndef WEIR_NODE_H
#define WEIR_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"

enum weir_node_kind {
	WEIR_NODE_SCALAR,
	WEIR_NODE_SEQ,
	WEIR_NODE_MAP,
};

/* The type a scalar resolves to under the core schema. */
enum weir_scalar_type {
	WEIR_SCALAR_NULL,
	WEIR_SCALAR_BOOL,
	WEIR_SCALAR_INT,
	WEIR_SCALAR_REAL,
	WEIR_SCALAR_STRING,
};

struct weir_node {
	enum weir_node_kind kind;
	int line, col;          /* 1-based position of the node's first character */
	bool plain;             /* scalar written without quotes or block style */
	const char *str;        /* scalar text, NUL-terminated */
	size_t len;
	size_t n;               /* seq items / map entries */
	struct weir_node **items;
	struct weir_node **keys; /* map only */
	size_t size;            /* nodes in the expanded subtree, this one included */
};

struct weir_yaml_limits {
	size_t max_bytes; /* input size */
	size_t max_nodes; /* expanded node count (aliases count again) */
	int max_depth;    /* nesting of sequences and maps */
};
#define WEIR_YAML_LIMITS_DEFAULT {1u << 20, 200000, 64}

/* Type of a scalar (WEIR_SCALAR_STRING for quoted text). */
enum weir_scalar_type weir_node_scalar_type(const struct weir_node *n);
/* A name for error messages: "a mapping", "a sequence", "a string", "an integer"... */
const char *weir_node_kind_name(const struct weir_node *n);
bool weir_node_is_null(const struct weir_node *n);

/* Value of key in a map, or NULL. */
const struct weir_node *weir_node_get(const struct weir_node *map, const char *key);
/* Key node of key in a map (for its position), or NULL. */
const struct weir_node *weir_node_key(const struct weir_node *map, const char *key);

/* Typed scalar readers: 0, or WEIR_EINVALID when the node is not of that type. */
int weir_node_bool(const struct weir_node *n, bool *out);
int weir_node_int(const struct weir_node *n, int64_t *out);
int weir_node_real(const struct weir_node *n, double *out);

/*
 * Converts a node to JSON (returns a new reference; NULL only when a real
 * is out of range).  Scalars are typed as above; maps become objects with
 * keys in file order.
 */
json_t *weir_node_to_json(const struct weir_node *n);

/*
 * Parses YAML text (one document; a stream with more documents is an
 * error).  On success returns 0 and *root (in arena; NULL for an empty
 * document).  On error returns WEIR_ESYNTAX or WEIR_ETOOBIG with "LINE:COL:
 * message" in err (the caller prefixes the file name).  `<<` merge keys are
 * supported.  Explicit tags other than the core ones are rejected.
 */
int weir_yaml_parse(const char *text, size_t len, const struct weir_yaml_limits *lim,
		    struct weir_arena *arena, struct weir_node **root, int *err_line, int *err_col,
		    struct weir_buf *err);

#endif
