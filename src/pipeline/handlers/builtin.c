/* Registration of the built-in handlers under their type strings. The
 * validation gate lives in src/gate/ (a layer of its own, with its
 * measurement and report parsers); this table is the one place that knows
 * every handler a run can use, so it is registered here too. */
#include "lightsout/gate.h"
#include "pipeline/engine_internal.h"
#include "pipeline/handlers/builtin.h"

int lo_register_builtin_handlers(struct lo_engine *e)
{
    static const struct { const char *type; lo_handler_fn fn; } builtins[] = {
        {"start", lo_handler_start},
        {"exit", lo_handler_exit},
        {"conditional", lo_handler_conditional},
        {"codergen", lo_handler_codergen},
        {"wait.human", lo_handler_wait_human},
        {"parallel", lo_handler_parallel},
        {"parallel.fan_in", lo_handler_fan_in},
        {"tool", lo_handler_tool},
        {"stack.manager_loop", lo_handler_manager_loop},
        {"gate", lo_handler_gate},
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (lo_engine_register(e, builtins[i].type, builtins[i].fn, NULL))
            return LO_ENOMEM;
    return 0;
}
