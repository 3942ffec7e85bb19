/*
 * A test addon that uses evloop's C API (native/include/evloop.h) as another package would: it
 * does not link against evloop, it gets the function table from require('evloop').nativeApi(),
 * and its own threads (plain pthreads) post to loops and run calls on them.
 *
 *   init(api)                                  reads the table (throws if it is not one)
 *   start(ref, { count, prefix, serialized, onDone, waitRelease }) -> thread id
 *       a new thread posts `count` Buffers "<prefix><i>" (or, with `serialized` (a Buffer of
 *       v8.serialize()), that many copies of it through post_serialized), then call()s a function
 *       that calls onDone(postedOk, lastError) on the loop's thread. With waitRelease, the thread
 *       first waits until release(id) is called. onDone must belong to the loop's thread.
 *   release(id)                                lets a waiting thread go on
 *   join(id) -> { posted, lastError, callResult }
 *   post(ref, buffer) -> code                  post from the calling thread
 *   call(ref, fn, arg) -> code                 call() from the calling thread: fn(arg) on the loop
 *   callThrow(ref, message) -> code            a call that throws an Error(message) into the loop
 *   badArgs(ref) -> [call(NULL fn), post(NULL, 5)]
 *   dropped() -> how many calls ran with env == NULL (their loop closed before they ran)
 */
#define _POSIX_C_SOURCE 200809L
#include <evloop.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

static const evloop_api_v1* api = NULL;
static atomic_int dropped_calls = 0;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "test addon: " #call " failed");       \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* ---- calls run on the loop's thread ---------------------------------------------------------- */

typedef struct {
  napi_ref fn;   /* a function of the loop's thread */
  int argc;
  int32_t args[2];
  char* message; /* callThrow */
} js_call;

static void run_js_call(napi_env env, void* data) {
  js_call* c = (js_call*)data;
  if (env == NULL) {
    /* The loop closed first: only release what is ours (the napi_ref cannot be freed without an
     * env; this test addon leaks it). */
    atomic_fetch_add(&dropped_calls, 1);
    free(c->message);
    free(c);
    return;
  }
  if (c->message != NULL) {
    napi_throw_error(env, NULL, c->message);
  } else {
    napi_value fn, global, argv[2], result;
    if (napi_get_reference_value(env, c->fn, &fn) == napi_ok && napi_get_global(env, &global) == napi_ok) {
      for (int i = 0; i < c->argc; i++) napi_create_int32(env, c->args[i], &argv[i]);
      /* A JS exception stays pending: the loop's exception handler gets it. */
      napi_call_function(env, global, fn, (size_t)c->argc, argv, &result);
    }
    napi_delete_reference(env, c->fn);
  }
  free(c->message);
  free(c);
}

/* ---- threads ----------------------------------------------------------------------------------- */

typedef struct {
  int used;
  pthread_t thread;
  uint64_t loop_id;
  int count;
  char prefix[64];
  void* serialized;
  size_t serialized_len;
  js_call* done;
  int wait_release;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int released;
  /* results */
  int posted;
  int last_error;
  int call_result;
} poster;

static poster threads[MAX_THREADS];
static pthread_mutex_t threads_mu = PTHREAD_MUTEX_INITIALIZER;

static void* poster_main(void* arg) {
  poster* p = (poster*)arg;
  if (p->wait_release) {
    pthread_mutex_lock(&p->mu);
    while (!p->released) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  char buf[128];
  for (int i = 0; i < p->count; i++) {
    int rc;
    if (p->serialized != NULL) {
      rc = api->post_serialized(p->loop_id, p->serialized, p->serialized_len);
    } else {
      int n = snprintf(buf, sizeof buf, "%s%d", p->prefix, i);
      rc = api->post(p->loop_id, buf, (size_t)n);
    }
    if (rc == EVLOOP_OK) p->posted++;
    else p->last_error = rc;
  }
  if (p->done != NULL) {
    p->done->args[0] = p->posted;
    p->done->args[1] = p->last_error;
    p->call_result = api->call(p->loop_id, run_js_call, p->done);
    if (p->call_result != EVLOOP_OK) {
      /* Not queued: still ours (the napi_ref leaks, as above). */
      free(p->done);
    }
    p->done = NULL;
  }
  return NULL;
}

static napi_value get_arg(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  return argv[0];
}

static int require_api(napi_env env) {
  if (api == NULL) {
    napi_throw_error(env, NULL, "test addon: init(nativeApi()) first");
    return 0;
  }
  return 1;
}

static napi_value Init_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_arg(env, info, 1, argv);
  const evloop_api_v1* table;
  if (evloop_get_api(env, argv[0], &table) != napi_ok) {
    napi_throw_type_error(env, NULL, "test addon: not an evloop API table");
    return NULL;
  }
  api = table;
  napi_value version;
  napi_create_uint32(env, table->version, &version);
  return version;
}

static int get_named(napi_env env, napi_value obj, const char* name, napi_value* out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return 0;
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined;
}

static napi_value Start(napi_env env, napi_callback_info info) {
  if (!require_api(env)) return NULL;
  napi_value argv[2], v;
  get_arg(env, info, 2, argv);
  uint64_t loop_id;
  if (evloop_get_loop_id(env, argv[0], &loop_id) != napi_ok) {
    napi_throw_type_error(env, NULL, "test addon: not a LoopRef");
    return NULL;
  }
  pthread_mutex_lock(&threads_mu);
  int id = -1;
  for (int i = 0; i < MAX_THREADS; i++) {
    if (!threads[i].used) {
      id = i;
      threads[i].used = 1;
      break;
    }
  }
  pthread_mutex_unlock(&threads_mu);
  if (id < 0) {
    napi_throw_error(env, NULL, "test addon: too many threads");
    return NULL;
  }
  poster* p = &threads[id];
  memset(p, 0, sizeof *p);
  p->used = 1;
  p->loop_id = loop_id;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  if (get_named(env, argv[1], "count", &v)) CHECK(env, napi_get_value_int32(env, v, &p->count));
  if (get_named(env, argv[1], "prefix", &v)) {
    size_t len;
    CHECK(env, napi_get_value_string_utf8(env, v, p->prefix, sizeof p->prefix, &len));
  }
  if (get_named(env, argv[1], "serialized", &v)) {
    void* data;
    size_t len;
    CHECK(env, napi_get_buffer_info(env, v, &data, &len));
    p->serialized = malloc(len);
    memcpy(p->serialized, data, len);
    p->serialized_len = len;
  }
  if (get_named(env, argv[1], "onDone", &v)) {
    p->done = (js_call*)calloc(1, sizeof(js_call));
    p->done->argc = 2;
    CHECK(env, napi_create_reference(env, v, 1, &p->done->fn));
  }
  if (get_named(env, argv[1], "waitRelease", &v)) {
    bool b;
    CHECK(env, napi_get_value_bool(env, v, &b));
    p->wait_release = b;
  }
  if (pthread_create(&p->thread, NULL, poster_main, p) != 0) {
    napi_throw_error(env, NULL, "test addon: pthread_create failed");
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, id, &out);
  return out;
}

static poster* get_poster(napi_env env, napi_value value) {
  int32_t id;
  if (napi_get_value_int32(env, value, &id) != napi_ok || id < 0 || id >= MAX_THREADS || !threads[id].used) {
    napi_throw_range_error(env, NULL, "test addon: no such thread");
    return NULL;
  }
  return &threads[id];
}

static napi_value Release(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_arg(env, info, 1, argv);
  poster* p = get_poster(env, argv[0]);
  if (p == NULL) return NULL;
  pthread_mutex_lock(&p->mu);
  p->released = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static napi_value Join(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_arg(env, info, 1, argv);
  poster* p = get_poster(env, argv[0]);
  if (p == NULL) return NULL;
  pthread_join(p->thread, NULL);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_int32(env, p->posted, &v);
  napi_set_named_property(env, out, "posted", v);
  napi_create_int32(env, p->last_error, &v);
  napi_set_named_property(env, out, "lastError", v);
  napi_create_int32(env, p->call_result, &v);
  napi_set_named_property(env, out, "callResult", v);
  free(p->serialized);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_lock(&threads_mu);
  p->used = 0;
  pthread_mutex_unlock(&threads_mu);
  return out;
}

static napi_value Post(napi_env env, napi_callback_info info) {
  if (!require_api(env)) return NULL;
  napi_value argv[2];
  get_arg(env, info, 2, argv);
  uint64_t loop_id;
  void* data;
  size_t len;
  CHECK(env, evloop_get_loop_id(env, argv[0], &loop_id));
  CHECK(env, napi_get_buffer_info(env, argv[1], &data, &len));
  napi_value out;
  napi_create_int32(env, api->post(loop_id, data, len), &out);
  return out;
}

static napi_value Call(napi_env env, napi_callback_info info) {
  if (!require_api(env)) return NULL;
  napi_value argv[3];
  get_arg(env, info, 3, argv);
  uint64_t loop_id;
  CHECK(env, evloop_get_loop_id(env, argv[0], &loop_id));
  js_call* c = (js_call*)calloc(1, sizeof(js_call));
  c->argc = 1;
  CHECK(env, napi_get_value_int32(env, argv[2], &c->args[0]));
  CHECK(env, napi_create_reference(env, argv[1], 1, &c->fn));
  int rc = api->call(loop_id, run_js_call, c);
  if (rc != EVLOOP_OK) {
    napi_delete_reference(env, c->fn);
    free(c);
  }
  napi_value out;
  napi_create_int32(env, rc, &out);
  return out;
}

static napi_value CallThrow(napi_env env, napi_callback_info info) {
  if (!require_api(env)) return NULL;
  napi_value argv[2];
  get_arg(env, info, 2, argv);
  uint64_t loop_id;
  CHECK(env, evloop_get_loop_id(env, argv[0], &loop_id));
  char message[256];
  size_t len;
  CHECK(env, napi_get_value_string_utf8(env, argv[1], message, sizeof message, &len));
  js_call* c = (js_call*)calloc(1, sizeof(js_call));
  c->message = strdup(message);
  int rc = api->call(loop_id, run_js_call, c);
  if (rc != EVLOOP_OK) {
    free(c->message);
    free(c);
  }
  napi_value out;
  napi_create_int32(env, rc, &out);
  return out;
}

static napi_value BadArgs(napi_env env, napi_callback_info info) {
  if (!require_api(env)) return NULL;
  napi_value argv[1];
  get_arg(env, info, 1, argv);
  uint64_t loop_id;
  CHECK(env, evloop_get_loop_id(env, argv[0], &loop_id));
  napi_value out, v;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, api->call(loop_id, NULL, NULL), &v);
  napi_set_element(env, out, 0, v);
  napi_create_int32(env, api->post(loop_id, NULL, 5), &v);
  napi_set_element(env, out, 1, v);
  return out;
}

static napi_value Dropped(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_int32(env, atomic_load(&dropped_calls), &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"init", NULL, Init_, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, Release, NULL, NULL, NULL, napi_default, NULL},
      {"join", NULL, Join, NULL, NULL, NULL, napi_default, NULL},
      {"post", NULL, Post, NULL, NULL, NULL, napi_default, NULL},
      {"call", NULL, Call, NULL, NULL, NULL, napi_default, NULL},
      {"callThrow", NULL, CallThrow, NULL, NULL, NULL, napi_default, NULL},
      {"badArgs", NULL, BadArgs, NULL, NULL, NULL, napi_default, NULL},
      {"dropped", NULL, Dropped, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
