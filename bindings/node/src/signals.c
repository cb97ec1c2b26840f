/* signals.c: Signal handlers installed after the library loaded get SA_ONSTACK.
 * Part of addon.c, which includes every file of src/ in order (one translation unit, so
 * everything stays static). */
/* ------------------------------------------------------------------------------------------ */
/* Signal stacks                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* A signal may arrive on a thread that runs Go code, on a goroutine's small stack. Go's own
 * handlers run on the thread's alternate signal stack (SA_ONSTACK); a handler installed without
 * that flag runs on the goroutine's stack and can overrun it, which crashes the process. Go adds
 * the flag to the handlers it finds when it starts (os/signal, "Go programs that use cgo"), but
 * libuv installs a handler when the first listener for a signal is added (process.on('SIGINT'))
 * and does not set it. lib/binding.js calls fixSignalStacks after each such listener, and once
 * at load: any handler other than the default or ignore gets SA_ONSTACK, otherwise unchanged.
 * On a thread without an alternate stack the flag changes nothing. */
static napi_value js_fix_signal_stacks(napi_env env, napi_callback_info info) {
    (void)info;
    uint32_t fixed = 0;
    for (int sig = 1; sig <= SIGRTMAX; sig++) {
        struct sigaction sa;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0) continue;
        int has_handler = (sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
                                                      : (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
        if (!has_handler || (sa.sa_flags & SA_ONSTACK)) continue;
        sa.sa_flags |= SA_ONSTACK;
        if (sigaction(sig, &sa, NULL) == 0) fixed++;
    }
    napi_value v;
    napi_create_uint32(env, fixed, &v);
    return v;
}
