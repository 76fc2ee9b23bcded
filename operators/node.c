/*
 * node.c: the `node` operator: run a JavaScript file (CommonJS or ES
 * module) or inline code with Node.js; same contract as python (script.h).
 *
 * The bootstrap runs under `node -e BOOT -- STATUS SCRIPT CAP INLINE
 * ARGS...`: it wraps process.stdout.write to remember the last line, sets
 * process.argv to [node, SCRIPT, ARGS...] and starts the script with
 * Module.runMain(), which handles both module kinds.  Node.js reserves
 * about 1 GiB of address space at start, so the task's limits.memory (an
 * address-space limit for local tasks) must leave room for it.
 *
 * Node.js is not always installed as /usr/bin/node: the interpreter is
 * searched in PATH and a missing one fails the try with a clear message.
 */
#include "engine/operator.h"
#include "operators/operators.h"
#include "operators/script.h"
#include "common/banned.h"

static const char node_boot[] =
	"'use strict';\n"
	"(function () {\n"
	"  const fs = require('fs'), path = require('path'), Module = require('module');\n"
	"  const status = process.argv[1], script = path.resolve(process.argv[2]);\n"
	"  const cap = Number(process.argv[3]);\n"
	"  let last = null, big = false, tail = '';\n"
	"  const write = process.stdout.write;\n"
	"  process.stdout.write = function (chunk, encoding, cb) {\n"
	"    try {\n"
	"      let t = tail + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));\n"
	"      const i = t.lastIndexOf('\\n');\n"
	"      if (i >= 0) {\n"
	"        const lines = t.slice(0, i).split('\\n');\n"
	"        for (let k = lines.length - 1; k >= 0; k--) {\n"
	"          if (lines[k].trim()) { big = lines[k].length > cap; last = big ? null : lines[k]; break; }\n"
	"        }\n"
	"        t = t.slice(i + 1);\n"
	"      }\n"
	"      tail = t.slice(0, cap + 1);\n"
	"    } catch (e) { /* never break the script's output */ }\n"
	"    return write.apply(process.stdout, arguments);\n"
	"  };\n"
	"  let error = null;\n"
	"  process.on('uncaughtExceptionMonitor', function (e) { error = e && e.name ? String(e.name) : 'Error'; });\n"
	"  process.on('exit', function () {\n"
	"    let l = last, b = big;\n"
	"    if (tail.trim()) { b = tail.length > cap; l = b ? null : tail; }\n"
	"    try { fs.writeFileSync(status, JSON.stringify({last: l, big: b, error: error})); } catch (e) { }\n"
	"  });\n"
	"  process.argv = [process.argv[0], script].concat(process.argv.slice(5));\n"
	"  Module.runMain();\n"
	"})();\n";

static const struct weir__script_lang node = {
	.op = "node",
	.display = "Node.js",
	.interpreter = "node",
	.package_hint = "nodejs",
	.ext = ".js",
	.boot = node_boot,
	.boot_flag = "-e",
	.dashdash = true,
	.is_node = true,
};

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	return weir__script_run(ctx, &node);
}

const struct weir_operator weir_op_node = {
	.name = "node",
	.keys = weir__script_keys,
	.validate = weir__script_validate,
	.run = run,
};
