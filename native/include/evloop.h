/*
 * evloop.h: evloop's C API for other native addons.
 *
 * Another addon's threads (any thread, including ones evloop knows nothing about) can reach an
 * evloop event loop -- a private loop or a host loop, in the main thread or in a worker -- to
 * wake it and have something happen on its next turn:
 *
 *   - post(): deliver bytes to the loop's message handler (loop.onMessage), as a Node.js Buffer;
 *   - post_serialized(): deliver a value serialized with v8.serialize(), as evloop's JavaScript
 *     post() does (the handler gets the deserialized value);
 *   - call(): run a C function on the loop's thread during its next turn, with a napi_env, so it
 *     may call into JavaScript. This is loop.callSoonThreadsafe()'s native form.
 *
 * Addons do not link against evloop: they get a table of function pointers from JavaScript.
 *
 *   binding.gyp:   "include_dirs": ["<!(node -p \"require('evloop').include\")"]
 *   JavaScript:    myAddon.init(require('evloop').nativeApi());   // an External
 *                  myAddon.start(loop.share());                    // a LoopRef: { evloop, id }
 *   C:             const evloop_api_v1* api;
 *                  evloop_get_api(env, argv[0], &api);             // in init
 *                  uint64_t loop_id;
 *                  evloop_get_loop_id(env, argv[0], &loop_id);     // in start
 *                  ... later, from any thread:
 *                  api->post(loop_id, "hello", 5);
 *
 * Ordering: what one thread posts or calls to one loop is delivered in that order, interleaved
 * in order with that thread's JavaScript post()s. Each item is delivered once.
 *
 * Lifetime: the table is static in evloop's addon and stays valid as long as the process runs.
 * A loop id stays valid after its loop is closed (or its thread exits): the functions then return
 * EVLOOP_ECLOSED and do nothing. Stop your threads before the process exits.
 */
#ifndef EVLOOP_H_
#define EVLOOP_H_

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVLOOP_API_MAGIC 0x45564c50u /* 'EVLP' */
#define EVLOOP_API_VERSION 1u

/* Return values of the API's functions. */
#define EVLOOP_OK 0
#define EVLOOP_ECLOSED (-1) /* no such loop, or it is closed: nothing was queued */
#define EVLOOP_EINVAL (-2)  /* a bad argument (a null function, null data with len > 0) */
#define EVLOOP_ENOMEM (-3)  /* out of memory: nothing was queued */

/*
 * A function run on a loop's thread by call(). `env` is the loop's thread's environment: the
 * function runs as one of the loop's callbacks, inside a handle scope, and may call JavaScript.
 * A JavaScript exception left pending (napi_throw_*) goes to the loop's exception handler, as an
 * error thrown by any callback does, and the loop goes on.
 *
 * `env` is NULL when the call will never run: the loop was closed (or its thread exited) before
 * it ran. The function must then only release `data`; it runs on the thread that closed the loop
 * (or during its thread's teardown), and must not call Node-API.
 */
typedef void (*evloop_call_fn)(napi_env env, void* data);

typedef struct evloop_api_v1 {
  uint32_t magic;   /* EVLOOP_API_MAGIC */
  uint32_t version; /* EVLOOP_API_VERSION this table implements (later versions only add fields) */
  uint32_t size;    /* sizeof the table evloop built: check before using fields added later */
  uint32_t reserved;

  /*
   * Delivers a copy of `len` bytes at `data` to the loop's message handler, as a Buffer, on one of
   * its next turns (values wait for a handler as posted JavaScript values do). Any thread.
   * Returns EVLOOP_OK, EVLOOP_ECLOSED, EVLOOP_EINVAL or EVLOOP_ENOMEM. `data` may be freed at once.
   */
  int (*post)(uint64_t loop_id, const void* data, size_t len);

  /*
   * As post(), but the bytes are a value serialized with Node's v8.serialize() (for instance by
   * JavaScript on another thread, handed to native code): the handler gets v8.deserialize(bytes).
   */
  int (*post_serialized)(uint64_t loop_id, const void* data, size_t len);

  /*
   * Runs fn(env, data) on the loop's thread during one of its next turns, in order with the
   * loop's callbacks (as callSoonThreadsafe). Wakes the loop if it is blocked waiting. Any thread.
   * Returns EVLOOP_OK: fn will be called exactly once (with env == NULL if the loop closes first).
   * Otherwise (EVLOOP_ECLOSED, EVLOOP_EINVAL, EVLOOP_ENOMEM) fn is never called and `data` is
   * still the caller's.
   */
  int (*call)(uint64_t loop_id, evloop_call_fn fn, void* data);
} evloop_api_v1;

/*
 * Reads the table from the value require('evloop').nativeApi() returned. napi_invalid_arg when
 * `value` is not that table, or is a table of an older version than this header's.
 */
static inline napi_status evloop_get_api(napi_env env, napi_value value, const evloop_api_v1** out) {
  napi_valuetype type;
  void* pointer = NULL;
  napi_status status = napi_typeof(env, value, &type);
  if (status != napi_ok) return status;
  if (type != napi_external) return napi_invalid_arg;
  status = napi_get_value_external(env, value, &pointer);
  if (status != napi_ok) return status;
  const evloop_api_v1* api = (const evloop_api_v1*)pointer;
  if (api == NULL || api->magic != EVLOOP_API_MAGIC || api->version < EVLOOP_API_VERSION ||
      api->size < sizeof(evloop_api_v1)) {
    return napi_invalid_arg;
  }
  *out = api;
  return napi_ok;
}

/* Reads the loop id from a LoopRef (what loop.share() returns: { evloop: 'loop', id }). */
static inline napi_status evloop_get_loop_id(napi_env env, napi_value ref, uint64_t* out) {
  napi_valuetype type;
  napi_value id;
  double number;
  napi_status status = napi_typeof(env, ref, &type);
  if (status != napi_ok) return status;
  if (type != napi_object) return napi_object_expected;
  status = napi_get_named_property(env, ref, "id", &id);
  if (status != napi_ok) return status;
  status = napi_get_value_double(env, id, &number);
  if (status != napi_ok) return status;
  if (!(number >= 1 && number <= 9007199254740991.0) || number != (double)(uint64_t)number) {
    return napi_invalid_arg;
  }
  *out = (uint64_t)number;
  return napi_ok;
}

#ifdef __cplusplus
}
#endif

#endif /* EVLOOP_H_ */
