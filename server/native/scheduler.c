// sched_setattr(2) for the calling thread's slice (Linux 6.12+ custom slices): the one system call
// scheduler.ts needs that Node has no API for. Why the event loop wants it: scheduler.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

// The kernel's struct sched_attr, version 0 (include/uapi/linux/sched/types.h): glibc before 2.41
// declares neither it nor a wrapper.
struct slice_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};
_Static_assert(sizeof(struct slice_attr) == 48, "SCHED_ATTR_SIZE_VER0");

#define FLAG_RESET_ON_FORK 0x01
// The kernel's bounds for a custom slice, in ns.
#define MIN_SLICE_NS 100000LL
#define MAX_SLICE_NS 100000000LL

static napi_value fail(napi_env env, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static int read_attr(pid_t tid, struct slice_attr *attr) {
  memset(attr, 0, sizeof *attr);
  return (int)syscall(SYS_sched_getattr, tid, attr, sizeof *attr, 0);
}

// Only ordinary tasks have a slice to set; a real-time, deadline or idle task's runtime means
// something else, or nothing.
static int is_fair(const struct slice_attr *attr) {
  return attr->sched_policy == SCHED_OTHER || attr->sched_policy == SCHED_BATCH;
}

/** The first argument as an integer, or fallback when there is none; false when it is not one. */
static int int_arg(napi_env env, napi_callback_info info, int64_t fallback, int64_t *value) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  *value = fallback;
  if (argc == 0) return 1;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number) return 0;
  double number;
  napi_get_value_double(env, argv[0], &number);
  if (number != number || number < 0 || number > (double)INT32_MAX * 1000) return 0;
  *value = (int64_t)number;
  return (double)*value == number;
}

// slice(tid = 0): the thread's slice in ns, 0 where it has none (kernels before 6.12 report none,
// and tasks that are not ordinary have none). 0 is the calling thread.
static napi_value slice(napi_env env, napi_callback_info info) {
  int64_t tid;
  if (!int_arg(env, info, 0, &tid) || tid > INT32_MAX) {
    napi_throw_type_error(env, NULL, "slice: a thread id is required");
    return NULL;
  }
  struct slice_attr attr;
  if (read_attr((pid_t)tid, &attr) != 0) return fail(env, "sched_getattr");
  napi_value result;
  napi_create_double(env, is_fair(&attr) ? (double)attr.sched_runtime : 0, &result);
  return result;
}

// setSlice(ns): this slice for the calling thread, 0 for the kernel's default, its policy and nice
// value kept. Threads and processes it starts later get the default slice (and, by the same flag,
// a negative nice value reset to 0): the slice is for this one. Returns the slice now reported.
static napi_value set_slice(napi_env env, napi_callback_info info) {
  int64_t ns;
  if (!int_arg(env, info, -1, &ns) || (ns != 0 && (ns < MIN_SLICE_NS || ns > MAX_SLICE_NS))) {
    napi_throw_range_error(env, NULL, "setSlice: 0 or a slice of 100000 to 100000000 ns is required");
    return NULL;
  }
  struct slice_attr attr;
  if (read_attr(0, &attr) != 0) return fail(env, "sched_getattr");
  if (!is_fair(&attr)) {
    napi_throw_error(env, NULL, "setSlice: the thread is not an ordinary (SCHED_OTHER or SCHED_BATCH) task");
    return NULL;
  }
  attr.size = sizeof attr;
  attr.sched_flags = FLAG_RESET_ON_FORK;
  attr.sched_runtime = (uint64_t)ns;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return fail(env, "sched_setattr");
  if (read_attr(0, &attr) != 0) return fail(env, "sched_getattr");
  napi_value result;
  napi_create_double(env, (double)attr.sched_runtime, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "slice", NAPI_AUTO_LENGTH, slice, NULL, &fn);
  napi_set_named_property(env, exports, "slice", fn);
  napi_create_function(env, "setSlice", NAPI_AUTO_LENGTH, set_slice, NULL, &fn);
  napi_set_named_property(env, exports, "setSlice", fn);
  return exports;
}
