// Calling JavaScript from a libuv callback, where no JavaScript frame is below us.
#pragma once
#include <napi.h>

namespace evloop {

// Calls `fn` through napi_make_callback (so Node drains microtasks afterwards, as after any I/O
// callback). An exception it throws is reported as uncaught, as Node reports one from a timer.
inline void CallFromLibuv(napi_env env, napi_async_context context, napi_value fn, size_t argc,
                          const napi_value* argv) {
  napi_value recv, result;
  napi_get_global(env, &recv);  // make_callback wants an object as `this`
  if (napi_make_callback(env, context, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
}

}  // namespace evloop
