/*
 * python.c: the `python` operator: run a Python script or inline code
 * with a JSON input on stdin; its last stdout line, a JSON object, becomes
 * XCom return_value.  See script.h and script.c for the keys and the
 * contract, docs/operators.md for examples.
 *
 * The bootstrap below runs under `python3 -u -c` (unbuffered, so the log
 * follows the script): argv is STATUS SCRIPT CAP INLINE ARGS...  It runs
 * the script as __main__ in a fresh module, with sys.argv and sys.path[0]
 * as `python3 SCRIPT` would set them (the working directory for inline
 * code), prints an exception's traceback without its own frame, and
 * records the exception's name (MemoryError under limits.memory_bytes).
 */
#include "engine/operator.h"
#include "operators/operators.h"
#include "operators/script.h"
#include "common/banned.h"

static const char python_boot[] =
	"import sys, os, json, atexit, types\n"
	"def _weir_boot():\n"
	"    status, script, cap, inline = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'\n"
	"    sys.argv = [script] + sys.argv[5:]\n"
	"    sys.path[0] = os.getcwd() if inline else os.path.dirname(os.path.abspath(script))\n"
	"    st = {'last': None, 'big': False, 'tail': '', 'error': None}\n"
	"    out = sys.stdout\n"
	"    class Tee(object):\n"
	"        def write(self, s):\n"
	"            n = out.write(s)\n"
	"            if isinstance(s, str) and s:\n"
	"                t = st['tail'] + s\n"
	"                i = t.rfind('\\n')\n"
	"                if i >= 0:\n"
	"                    for l in reversed(t[:i].split('\\n')):\n"
	"                        if l.strip():\n"
	"                            st['big'] = len(l) > cap\n"
	"                            st['last'] = None if st['big'] else l\n"
	"                            break\n"
	"                    t = t[i + 1:]\n"
	"                st['tail'] = t[:cap + 1]\n"
	"            return n\n"
	"        def flush(self):\n"
	"            out.flush()\n"
	"        def __getattr__(self, name):\n"
	"            return getattr(out, name)\n"
	"    sys.stdout = Tee()\n"
	"    def done():\n"
	"        try:\n"
	"            sys.stdout.flush()\n"
	"        except Exception:\n"
	"            pass\n"
	"        last, big, tail = st['last'], st['big'], st['tail']\n"
	"        if tail.strip():\n"
	"            big = len(tail) > cap\n"
	"            last = None if big else tail\n"
	"        try:\n"
	"            with open(status, 'w') as f:\n"
	"                json.dump({'last': last, 'big': big, 'error': st['error']}, f)\n"
	"        except Exception:\n"
	"            pass\n"
	"    atexit.register(done)\n"
	"    main = types.ModuleType('__main__')\n"
	"    main.__file__ = script\n"
	"    main.__builtins__ = __builtins__\n"
	"    sys.modules['__main__'] = main\n"
	"    try:\n"
	"        with open(script, 'rb') as f:\n"
	"            code = compile(f.read(), script, 'exec')\n"
	"        exec(code, main.__dict__)\n"
	"    except SystemExit:\n"
	"        raise\n"
	"    except BaseException as e:\n"
	"        st['error'] = type(e).__name__\n"
	"        try:\n"
	"            import traceback\n"
	"            traceback.print_exception(type(e), e, e.__traceback__.tb_next)\n"
	"        except BaseException:\n"
	"            pass\n"
	"        sys.exit(1)\n"
	"_weir_boot()\n";

static const struct weir__script_lang python = {
	.op = "python",
	.display = "Python",
	.interpreter = "python3",
	.package_hint = "python3",
	.ext = ".py",
	.boot = python_boot,
	.pre_flag = "-u",
	.boot_flag = "-c",
};

static enum weir_op_result run(struct weir_task_ctx *ctx)
{
	return weir__script_run(ctx, &python);
}

const struct weir_operator weir_op_python = {
	.name = "python",
	.keys = weir__script_keys,
	.validate = weir__script_validate,
	.run = run,
};
