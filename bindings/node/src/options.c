/* options.c: Client.connect options: the table of kmb_config_set_* setters by JS name, and one setter call.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
typedef enum { T_U32, T_U64, T_F64, T_I32, T_STR, T_BOOL } opt_type;

typedef struct {
    const char *name;
    opt_type type;
    kmb_status_t (*u32)(kmb_config_t *, uint32_t);
    kmb_status_t (*u64)(kmb_config_t *, uint64_t);
    kmb_status_t (*f64)(kmb_config_t *, double);
    kmb_status_t (*i32)(kmb_config_t *, int32_t);
    kmb_status_t (*str)(kmb_config_t *, const char *);
    kmb_status_t (*boolean)(kmb_config_t *, bool);
} option;

#define U32(n, f) {n, T_U32, f, NULL, NULL, NULL, NULL, NULL}
#define U64(n, f) {n, T_U64, NULL, f, NULL, NULL, NULL, NULL}
#define F64(n, f) {n, T_F64, NULL, NULL, f, NULL, NULL, NULL}
#define I32(n, f) {n, T_I32, NULL, NULL, NULL, f, NULL, NULL}
#define STR(n, f) {n, T_STR, NULL, NULL, NULL, NULL, f, NULL}
#define BOOL(n, f) {n, T_BOOL, NULL, NULL, NULL, NULL, NULL, f}

static const option OPTIONS[] = {
#include "options_gen.h"
};

/* apply_option sets one option from a number (or, for 64-bit options, a bigint). Returns the
 * library's status, or -1 after throwing a TypeError/RangeError. */
static kmb_status_t apply_option(napi_env env, kmb_config_t *cfg, const option *o, napi_value v) {
    napi_valuetype t;
    char msg[200];
    double d = 0;
    uint64_t u = 0;
    if (napi_typeof(env, v, &t) != napi_ok) return -1;
    if (o->type == T_STR) {
        char *s = get_string(env, v, o->name);
        if (s == NULL) return -1;
        kmb_status_t st = o->str(cfg, s);
        free(s);
        return st;
    }
    if (o->type == T_BOOL) {
        bool b = false;
        if (t != napi_boolean) {
            snprintf(msg, sizeof msg, "option \"%s\" must be a boolean", o->name);
            throw_type(env, msg);
            return -1;
        }
        napi_get_value_bool(env, v, &b);
        return o->boolean(cfg, b);
    }
    if (o->type == T_U64 && t == napi_bigint) {
        bool lossless = false;
        if (napi_get_value_bigint_uint64(env, v, &u, &lossless) != napi_ok || !lossless) {
            snprintf(msg, sizeof msg, "option \"%s\" must be between 0 and 2^64-1", o->name);
            throw_range(env, msg);
            return -1;
        }
        return o->u64(cfg, u);
    }
    if (t != napi_number) {
        snprintf(msg, sizeof msg, "option \"%s\" must be a number", o->name);
        throw_type(env, msg);
        return -1;
    }
    napi_get_value_double(env, v, &d);
    if (d != d) {
        snprintf(msg, sizeof msg, "option \"%s\" must not be NaN", o->name);
        throw_range(env, msg);
        return -1;
    }
    if (o->type == T_F64) return o->f64(cfg, d);
    double max = o->type == T_U32 ? 4294967295.0 : o->type == T_I32 ? 2147483647.0 : 9007199254740991.0;
    double min = o->type == T_I32 ? -2147483648.0 : 0;
    if (d != (double)(int64_t)d || d < min || d > max) {
        snprintf(msg, sizeof msg, "option \"%s\" must be an integer between %.0f and %.0f", o->name, min, max);
        throw_range(env, msg);
        return -1;
    }
    switch (o->type) {
    case T_U32: return o->u32(cfg, (uint32_t)d);
    case T_I32: return o->i32(cfg, (int32_t)d);
    default: return o->u64(cfg, (uint64_t)d);
    }
}
