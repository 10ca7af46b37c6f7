/*
 * fake_cli: a stand-in for the Claude Code CLI that speaks the stdio SDK protocol (stream-json in and out),
 * with scripted faults, for deterministic engine tests (tests/integration/engine-faults.test.mjs).
 *
 *   fake_cli --version        prints "$FAKE_CLI_VERSION (Claude Code)" (default 2.1.197)
 *   fake_cli -p ...           the flags the engine passes; --system-prompt-file, --model, --sdk-url and
 *                             --resume are noted, the rest ignored. --sdk-url is never connected to.
 *
 * Environment (the engine passes its children a filtered environment, so tests set these in a wrapper
 * script, see tests/integration/lib/fake-cli.mjs):
 *   FAKE_CLI_MODE     start-up behaviour: normal (default) | never_ready (reads, never answers) |
 *                     exit_at_start (exits 3 at once) | stubborn (ignores SIGTERM and stdin EOF) |
 *                     slow_exit (takes 300 ms to exit after stdin EOF, as a real CLI takes a while)
 *   FAKE_CLI_ONCE     a file: only the first process to create it takes FAKE_CLI_MODE, later ones are normal
 *   FAKE_CLI_LOG      a file: a JSON line per process start {"pid","argv","sdk_url","token"} and per line
 *                     read {"pid","in":type,"subtype","text"}
 *   FAKE_CLI_VERSION  what --version says
 *
 * Per turn, directives in the user text:
 *   [[say:T]]                answer T (default "Hello from the fake CLI.")
 *   [[slow:N:MS]]            N text deltas, MS apart
 *   [[stall]]                message_start, then silence until interrupted
 *   [[crash]]                two stream events, then SIGKILL itself
 *   [[exit:CODE]]            two stream events, then exit(CODE)
 *   [[garbage]]              a garbage line (invalid UTF-8, not JSON) before the answer
 *   [[garbage_flood:N]]      N garbage lines, then silence
 *   [[big:BYTES]]            the answer is one text delta of BYTES bytes
 *   [[slowline:N:MS]]        the answer is one text delta line of N KiB, written in N pieces MS apart
 *   [[permission:TOOL]]      ask can_use_tool for TOOL first; the answer says "allow" or "deny: <message>"
 *   [[tool:NAME:{json}]]     call the host's tool mcp__client__NAME (tool_use, can_use_tool, tools/call),
 *                            wait for the result, then answer "Tool said: <text>"
 *   [[ignore_interrupt]]     keep streaming after an interrupt
 *   [[echo_system]]          answer "file=<--system-prompt-file text>|init=<initialize systemPrompt>"
 *                            (a CLI older than 2.1.100 ignores initialize's, as the real ones did)
 * An interrupt is answered and ends the turn at once (result subtype error_during_execution).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yyjson.h>

#define DEFAULT_TEXT "Hello from the fake CLI."
#define MAX_LINE ((size_t)256 << 20)

static struct {
    const char *mode;
    const char *version;
    int log_fd;
    char *system_file_text; /* from --system-prompt-file / --append-system-prompt-file */
    char *init_system;      /* from initialize */
    char model[128];
    bool is_stubborn, is_never_ready, is_old;
    bool is_eof, is_interrupted, is_in_turn;
    /* input */
    char *buf;
    size_t len, cap;
    /* the one control response awaited */
    char awaited_id[64];
    yyjson_doc *response;
    unsigned seq;
} g = {.log_fd = -1};

/* ---- output ---- */

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) exit(1); /* the host went away */
        p += w;
        n -= (size_t)w;
    }
}

/* Writes the doc as one line in `pieces` writes `ms` apart (one large line arriving slowly), and frees it. */
static void emit_slowly(yyjson_mut_doc *doc, yyjson_mut_val *root, int pieces, int ms) {
    yyjson_mut_doc_set_root(doc, root);
    size_t len;
    char *s = yyjson_mut_write(doc, 0, &len);
    yyjson_mut_doc_free(doc);
    if (!s) exit(1);
    s = realloc(s, len + 1);
    s[len++] = '\n';
    size_t step = len / (size_t)(pieces > 0 ? pieces : 1) + 1;
    for (size_t at = 0; at < len; at += step) {
        write_all(1, s + at, len - at < step ? len - at : step);
        struct timespec pause_for = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        if (at + step < len) nanosleep(&pause_for, NULL);
    }
    free(s);
}

/* Writes the doc as one line and frees it. */
static void emit(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    yyjson_mut_doc_set_root(doc, root);
    size_t len;
    char *s = yyjson_mut_write(doc, 0, &len);
    yyjson_mut_doc_free(doc);
    if (!s) exit(1);
    s = realloc(s, len + 1);
    s[len] = '\n';
    write_all(1, s, len + 1);
    free(s);
}

static void log_doc(yyjson_mut_doc *doc, yyjson_mut_val *root) {
    if (g.log_fd < 0) {
        yyjson_mut_doc_free(doc);
        return;
    }
    yyjson_mut_doc_set_root(doc, root);
    size_t len;
    char *s = yyjson_mut_write(doc, 0, &len);
    yyjson_mut_doc_free(doc);
    if (!s) return;
    s = realloc(s, len + 1);
    s[len] = '\n';
    write_all(g.log_fd, s, len + 1); /* O_APPEND: one write per line keeps processes' lines apart */
    free(s);
}

static yyjson_mut_val *stream_event(yyjson_mut_doc *doc, yyjson_mut_val *event) {
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "stream_event");
    yyjson_mut_obj_add_val(doc, root, "event", event);
    yyjson_mut_obj_add_str(doc, root, "session_id", "fake-session");
    yyjson_mut_obj_add_null(doc, root, "parent_tool_use_id");
    return root;
}

static void emit_event_json(const char *json) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_doc *in = yyjson_read(json, strlen(json), 0);
    yyjson_mut_val *event = yyjson_val_mut_copy(doc, yyjson_doc_get_root(in));
    yyjson_doc_free(in);
    emit(doc, stream_event(doc, event));
}

static void emit_message_start(const char *id) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *ev = yyjson_mut_obj(doc), *msg = yyjson_mut_obj(doc), *usage = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, ev, "type", "message_start");
    yyjson_mut_obj_add_strcpy(doc, msg, "id", id);
    yyjson_mut_obj_add_str(doc, msg, "type", "message");
    yyjson_mut_obj_add_str(doc, msg, "role", "assistant");
    yyjson_mut_obj_add_strcpy(doc, msg, "model", g.model);
    yyjson_mut_obj_add_arr(doc, msg, "content");
    yyjson_mut_obj_add_null(doc, msg, "stop_reason");
    yyjson_mut_obj_add_null(doc, msg, "stop_sequence");
    yyjson_mut_obj_add_int(doc, usage, "input_tokens", 7);
    yyjson_mut_obj_add_int(doc, usage, "output_tokens", 1);
    yyjson_mut_obj_add_val(doc, msg, "usage", usage);
    yyjson_mut_obj_add_val(doc, ev, "message", msg);
    emit(doc, stream_event(doc, ev));
}

/* The stream_event line of one text delta of block 0, in doc. */
static yyjson_mut_val *text_delta_line(yyjson_mut_doc *doc, const char *text, size_t len) {
    yyjson_mut_val *ev = yyjson_mut_obj(doc), *delta = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, ev, "type", "content_block_delta");
    yyjson_mut_obj_add_int(doc, ev, "index", 0);
    yyjson_mut_obj_add_str(doc, delta, "type", "text_delta");
    yyjson_mut_obj_add_strn(doc, delta, "text", text, len);
    yyjson_mut_obj_add_val(doc, ev, "delta", delta);
    return stream_event(doc, ev);
}

static void emit_text_delta(const char *text, size_t len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    emit(doc, text_delta_line(doc, text, len));
}

static void emit_message_end(const char *stop_reason, int output_tokens) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *ev = yyjson_mut_obj(doc), *delta = yyjson_mut_obj(doc), *usage = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, ev, "type", "message_delta");
    yyjson_mut_obj_add_str(doc, delta, "stop_reason", stop_reason);
    yyjson_mut_obj_add_null(doc, delta, "stop_sequence");
    yyjson_mut_obj_add_val(doc, ev, "delta", delta);
    yyjson_mut_obj_add_int(doc, usage, "output_tokens", output_tokens);
    yyjson_mut_obj_add_val(doc, ev, "usage", usage);
    emit(doc, stream_event(doc, ev));
    emit_event_json("{\"type\":\"message_stop\"}");
}

/* The finished block as an assistant line. block: JSON of one content block. */
static void emit_assistant(const char *id, yyjson_mut_doc *doc, yyjson_mut_val *block) {
    yyjson_mut_val *root = yyjson_mut_obj(doc), *msg = yyjson_mut_obj(doc), *content = yyjson_mut_arr(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "assistant");
    yyjson_mut_obj_add_strcpy(doc, msg, "id", id);
    yyjson_mut_obj_add_str(doc, msg, "role", "assistant");
    yyjson_mut_obj_add_strcpy(doc, msg, "model", g.model);
    yyjson_mut_arr_append(content, block);
    yyjson_mut_obj_add_val(doc, msg, "content", content);
    yyjson_mut_obj_add_val(doc, root, "message", msg);
    yyjson_mut_obj_add_str(doc, root, "session_id", "fake-session");
    emit(doc, root);
}

static void emit_result(const char *subtype, const char *text, int output_tokens) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc), *usage = yyjson_mut_obj(doc);
    bool is_error = strcmp(subtype, "success") != 0;
    yyjson_mut_obj_add_str(doc, root, "type", "result");
    yyjson_mut_obj_add_str(doc, root, "subtype", subtype);
    yyjson_mut_obj_add_bool(doc, root, "is_error", is_error);
    yyjson_mut_obj_add_strcpy(doc, root, "result", text ? text : "");
    yyjson_mut_obj_add_int(doc, usage, "input_tokens", 7);
    yyjson_mut_obj_add_int(doc, usage, "output_tokens", output_tokens);
    yyjson_mut_obj_add_val(doc, root, "usage", usage);
    yyjson_mut_obj_add_real(doc, root, "total_cost_usd", 0.0001);
    yyjson_mut_obj_add_int(doc, root, "num_turns", 1);
    yyjson_mut_obj_add_str(doc, root, "stop_reason", is_error ? "interrupted" : "end_turn");
    yyjson_mut_obj_add_str(doc, root, "session_id", "fake-session");
    emit(doc, root);
}

static void emit_control_success(const char *request_id, yyjson_mut_doc *doc, yyjson_mut_val *response) {
    yyjson_mut_val *root = yyjson_mut_obj(doc), *r = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "control_response");
    yyjson_mut_obj_add_str(doc, r, "subtype", "success");
    yyjson_mut_obj_add_strcpy(doc, r, "request_id", request_id);
    yyjson_mut_obj_add_val(doc, r, "response", response ? response : yyjson_mut_obj(doc));
    yyjson_mut_obj_add_val(doc, root, "response", r);
    emit(doc, root);
}

static void emit_garbage(void) {
    static const char junk[] = "\xff\xfe not json at all {\"type\":";
    write_all(1, junk, sizeof junk - 1);
    write_all(1, "\n", 1);
}

/* ---- input ---- */

static void on_eof(void) {
    if (!strcmp(g.mode, "slow_exit")) {
        struct timespec linger = {.tv_nsec = 300 * 1000000L};
        nanosleep(&linger, NULL);
    }
    if (!g.is_stubborn) exit(0);
    for (;;) pause(); /* only SIGKILL ends us */
}

/* One line (malloc'd, no '\n'), or NULL when none came within timeout_ms (-1: wait for ever). */
static char *read_line(int timeout_ms) {
    for (;;) {
        char *nl = g.len ? memchr(g.buf, '\n', g.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - g.buf);
            char *line = malloc(n + 1);
            memcpy(line, g.buf, n);
            line[n] = '\0';
            memmove(g.buf, nl + 1, g.len - n - 1);
            g.len -= n + 1;
            return line;
        }
        if (g.is_eof) on_eof();
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int rc = poll(&p, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) return NULL;
        if (g.cap - g.len < 65536) {
            g.cap = g.cap ? g.cap * 2 : 1 << 20;
            if (g.cap > MAX_LINE) exit(4);
            g.buf = realloc(g.buf, g.cap);
        }
        ssize_t r = read(0, g.buf + g.len, g.cap - g.len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) g.is_eof = true;
        else g.len += (size_t)r;
    }
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void handle_line(char *line);

/* Serve the host's lines for ms milliseconds (-1: until an interrupt or the awaited response). */
static void pump(long ms) {
    long end = ms < 0 ? -1 : now_ms() + ms;
    for (;;) {
        if (ms < 0 && (g.is_interrupted || g.response)) return;
        long left = end < 0 ? -1 : end - now_ms();
        if (end >= 0 && left <= 0) return;
        char *line = read_line((int)left);
        if (line) handle_line(line);
    }
}

/* ---- turns ---- */

typedef struct {
    char say[4096];
    int slow_n, slow_ms, exit_code, garbage_flood;
    long big;
    int slowline_kib, slowline_ms;
    bool is_stall, is_crash, is_exit, has_garbage, is_ignore_interrupt, is_echo_system;
    char permission_tool[128];
    char tool_name[128];
    char tool_input[4096];
} script_t;

/* "[[name:arg]]" → arg in out (empty when no arg); false when absent. */
static bool directive(const char *text, const char *name, char *out, size_t out_len) {
    char open[160];
    snprintf(open, sizeof open, "[[%s", name);
    const char *p = strstr(text, open);
    while (p && p[strlen(open)] != ':' && p[strlen(open)] != ']') p = strstr(p + 1, open);
    if (!p) return false;
    p += strlen(open);
    if (out_len) out[0] = '\0';
    if (*p != ':') return true;
    p++;
    const char *end = strstr(p, "]]");
    if (!end) return false;
    size_t n = (size_t)(end - p);
    if (n >= out_len) n = out_len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void parse_script(const char *text, script_t *s) {
    memset(s, 0, sizeof *s);
    char arg[4096];
    if (!directive(text, "say", s->say, sizeof s->say)) snprintf(s->say, sizeof s->say, "%s", DEFAULT_TEXT);
    if (directive(text, "slow", arg, sizeof arg)) sscanf(arg, "%d:%d", &s->slow_n, &s->slow_ms);
    s->is_stall = directive(text, "stall", NULL, 0);
    s->is_crash = directive(text, "crash", NULL, 0);
    if ((s->is_exit = directive(text, "exit", arg, sizeof arg))) s->exit_code = atoi(arg);
    s->has_garbage = directive(text, "garbage", NULL, 0);
    if (directive(text, "garbage_flood", arg, sizeof arg)) s->garbage_flood = atoi(arg);
    if (directive(text, "big", arg, sizeof arg)) s->big = atol(arg);
    if (directive(text, "slowline", arg, sizeof arg)) sscanf(arg, "%d:%d", &s->slowline_kib, &s->slowline_ms);
    directive(text, "permission", s->permission_tool, sizeof s->permission_tool);
    if (directive(text, "tool", arg, sizeof arg)) {
        char *colon = strchr(arg, ':');
        if (colon) {
            *colon = '\0';
            snprintf(s->tool_input, sizeof s->tool_input, "%s", colon + 1);
        } else {
            snprintf(s->tool_input, sizeof s->tool_input, "{}");
        }
        snprintf(s->tool_name, sizeof s->tool_name, "%.127s", arg);
    }
    s->is_ignore_interrupt = directive(text, "ignore_interrupt", NULL, 0);
    s->is_echo_system = directive(text, "echo_system", NULL, 0);
}

/* Send a control request and wait for its answer (NULL when interrupted first). */
static yyjson_doc *ask(const char *subtype, yyjson_mut_doc *doc, yyjson_mut_val *request) {
    snprintf(g.awaited_id, sizeof g.awaited_id, "fake-req-%u", ++g.seq);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, root, "type", "control_request");
    yyjson_mut_obj_add_strcpy(doc, root, "request_id", g.awaited_id);
    yyjson_mut_obj_add_str(doc, request, "subtype", subtype);
    yyjson_mut_obj_add_val(doc, root, "request", request);
    emit(doc, root);
    pump(-1);
    yyjson_doc *r = g.response;
    g.response = NULL;
    g.awaited_id[0] = '\0';
    return r;
}

static void end_interrupted(void) {
    emit_result("error_during_execution", "", 1);
    g.is_interrupted = false;
}

/* Stream a text answer as one message. false when interrupted. */
static bool stream_text(const char *id, const script_t *s, const char *text) {
    emit_event_json("{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
    if (s->is_crash) kill(getpid(), SIGKILL);
    if (s->is_exit) exit(s->exit_code);
    char *all = NULL;
    size_t all_len = 0;
    if (s->big > 0) {
        all_len = (size_t)s->big;
        all = malloc(all_len + 1);
        memset(all, 'x', all_len);
        all[all_len] = '\0';
        emit_text_delta(all, all_len);
    } else if (s->slowline_kib > 0) {
        all_len = (size_t)s->slowline_kib * 1024;
        all = malloc(all_len + 1);
        memset(all, 'y', all_len);
        all[all_len] = '\0';
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        emit_slowly(doc, text_delta_line(doc, all, all_len), s->slowline_kib, s->slowline_ms);
    } else if (s->slow_n > 0) {
        all = calloc(1, (size_t)s->slow_n * 16 + 1);
        for (int i = 0; i < s->slow_n; i++) {
            char word[16];
            int n = snprintf(word, sizeof word, "w%d ", i);
            memcpy(all + all_len, word, (size_t)n);
            all_len += (size_t)n;
            emit_text_delta(word, (size_t)n);
            pump(s->slow_ms);
            if (g.is_interrupted && !s->is_ignore_interrupt) {
                free(all);
                return false;
            }
        }
    } else {
        all = strdup(text);
        all_len = strlen(all);
        size_t half = all_len / 2;
        emit_text_delta(all, half);
        emit_text_delta(all + half, all_len - half);
    }
    emit_event_json("{\"type\":\"content_block_stop\",\"index\":0}");
    int tokens = (int)(all_len / 4) + 1;
    emit_message_end("end_turn", tokens);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *block = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, block, "type", "text");
    yyjson_mut_obj_add_strn(doc, block, "text", all, all_len);
    emit_assistant(id, doc, block);
    emit_result("success", all, tokens);
    free(all);
    return true;
}

/* tool_use of mcp__client__NAME, can_use_tool, tools/call; then the result's text. NULL if interrupted. */
static char *call_host_tool(const char *id, const script_t *s) {
    char full[160], tool_use_id[64];
    snprintf(full, sizeof full, "mcp__client__%s", s->tool_name);
    snprintf(tool_use_id, sizeof tool_use_id, "toolu_fake_%u", ++g.seq);
    yyjson_doc *input = yyjson_read(s->tool_input, strlen(s->tool_input), 0);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *ev = yyjson_mut_obj(doc), *cb = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, ev, "type", "content_block_start");
    yyjson_mut_obj_add_int(doc, ev, "index", 0);
    yyjson_mut_obj_add_str(doc, cb, "type", "tool_use");
    yyjson_mut_obj_add_strcpy(doc, cb, "id", tool_use_id);
    yyjson_mut_obj_add_strcpy(doc, cb, "name", full);
    yyjson_mut_obj_add_obj(doc, cb, "input");
    yyjson_mut_obj_add_val(doc, ev, "content_block", cb);
    emit(doc, stream_event(doc, ev));
    doc = yyjson_mut_doc_new(NULL);
    ev = yyjson_mut_obj(doc);
    yyjson_mut_val *delta = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, ev, "type", "content_block_delta");
    yyjson_mut_obj_add_int(doc, ev, "index", 0);
    yyjson_mut_obj_add_str(doc, delta, "type", "input_json_delta");
    yyjson_mut_obj_add_strcpy(doc, delta, "partial_json", s->tool_input);
    yyjson_mut_obj_add_val(doc, ev, "delta", delta);
    emit(doc, stream_event(doc, ev));
    emit_event_json("{\"type\":\"content_block_stop\",\"index\":0}");
    emit_message_end("tool_use", 10);
    doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *block = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, block, "type", "tool_use");
    yyjson_mut_obj_add_strcpy(doc, block, "id", tool_use_id);
    yyjson_mut_obj_add_strcpy(doc, block, "name", full);
    yyjson_mut_obj_add_val(doc, block, "input", yyjson_val_mut_copy(doc, yyjson_doc_get_root(input)));
    emit_assistant(id, doc, block);

    doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *req = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_strcpy(doc, req, "tool_name", full);
    yyjson_mut_obj_add_val(doc, req, "input", yyjson_val_mut_copy(doc, yyjson_doc_get_root(input)));
    yyjson_mut_obj_add_strcpy(doc, req, "tool_use_id", tool_use_id);
    yyjson_doc *perm = ask("can_use_tool", doc, req);
    if (!perm) {
        yyjson_doc_free(input);
        return NULL;
    }
    yyjson_doc_free(perm);

    doc = yyjson_mut_doc_new(NULL);
    req = yyjson_mut_obj(doc);
    yyjson_mut_val *msg = yyjson_mut_obj(doc), *params = yyjson_mut_obj(doc), *meta = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, req, "server_name", "client");
    yyjson_mut_obj_add_str(doc, msg, "jsonrpc", "2.0");
    yyjson_mut_obj_add_int(doc, msg, "id", (int64_t)g.seq);
    yyjson_mut_obj_add_str(doc, msg, "method", "tools/call");
    yyjson_mut_obj_add_strcpy(doc, params, "name", s->tool_name);
    yyjson_mut_obj_add_val(doc, params, "arguments", yyjson_val_mut_copy(doc, yyjson_doc_get_root(input)));
    yyjson_mut_obj_add_strcpy(doc, meta, "claudecode/toolUseId", tool_use_id);
    yyjson_mut_obj_add_val(doc, params, "_meta", meta);
    yyjson_mut_obj_add_val(doc, msg, "params", params);
    yyjson_mut_obj_add_val(doc, req, "message", msg);
    yyjson_doc_free(input);
    yyjson_doc *answer = ask("mcp_message", doc, req);
    if (!answer) return NULL;
    yyjson_val *result = yyjson_ptr_get(yyjson_doc_get_root(answer), "/response/response/mcp_response/result");
    const char *text = yyjson_get_str(yyjson_ptr_get(result, "/content/0/text"));
    char *out = malloc(strlen(text ? text : "") + 16);
    sprintf(out, "Tool said: %s", text ? text : "");
    yyjson_doc_free(answer);
    return out;
}

static void run_turn(const char *text) {
    script_t s;
    parse_script(text, &s);
    g.is_in_turn = true;
    g.is_interrupted = false;
    char id[48];
    snprintf(id, sizeof id, "msg_fake_%u", ++g.seq);
    {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *root = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, root, "type", "system");
        yyjson_mut_obj_add_str(doc, root, "subtype", "init");
        yyjson_mut_obj_add_str(doc, root, "session_id", "fake-session");
        yyjson_mut_obj_add_strcpy(doc, root, "model", g.model);
        yyjson_mut_obj_add_arr(doc, root, "tools");
        yyjson_mut_obj_add_strcpy(doc, root, "claude_code_version", g.version);
        emit(doc, root);
    }
    if (s.has_garbage) emit_garbage();
    if (s.garbage_flood > 0) {
        for (int i = 0; i < s.garbage_flood; i++) emit_garbage();
        pump(-1);
        end_interrupted();
        g.is_in_turn = false;
        return;
    }
    emit_message_start(id);
    if (s.is_stall) {
        pump(-1);
        end_interrupted();
        g.is_in_turn = false;
        return;
    }
    char answer[8192];
    snprintf(answer, sizeof answer, "%s", s.say);
    if (s.is_echo_system) {
        snprintf(answer, sizeof answer, "file=%s|init=%s", g.system_file_text ? g.system_file_text : "(none)",
                 g.init_system && !g.is_old ? g.init_system : "(none)");
    }
    if (s.permission_tool[0]) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *req = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_strcpy(doc, req, "tool_name", s.permission_tool);
        yyjson_mut_obj_add_obj(doc, req, "input");
        yyjson_mut_obj_add_str(doc, req, "tool_use_id", "toolu_fake_perm");
        yyjson_doc *r = ask("can_use_tool", doc, req);
        if (!r) {
            end_interrupted();
            g.is_in_turn = false;
            return;
        }
        yyjson_val *resp = yyjson_ptr_get(yyjson_doc_get_root(r), "/response/response");
        const char *behavior = yyjson_get_str(yyjson_obj_get(resp, "behavior"));
        const char *message = yyjson_get_str(yyjson_obj_get(resp, "message"));
        if (behavior && !strcmp(behavior, "allow")) snprintf(answer, sizeof answer, "allow");
        else snprintf(answer, sizeof answer, "deny: %s", message ? message : "");
        yyjson_doc_free(r);
    }
    if (s.tool_name[0]) {
        char *said = call_host_tool(id, &s);
        if (!said) {
            end_interrupted();
            g.is_in_turn = false;
            return;
        }
        snprintf(id, sizeof id, "msg_fake_%u", ++g.seq);
        emit_message_start(id);
        snprintf(answer, sizeof answer, "%s", said);
        free(said);
    }
    if (!stream_text(id, &s, answer)) end_interrupted();
    g.is_in_turn = false;
}

/* ---- what the host says ---- */

static void log_in(const char *type, const char *subtype, const char *text) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_int(doc, root, "pid", getpid());
    yyjson_mut_obj_add_strcpy(doc, root, "in", type ? type : "?");
    if (subtype) yyjson_mut_obj_add_strcpy(doc, root, "subtype", subtype);
    if (text) yyjson_mut_obj_add_strncpy(doc, root, "text", text, strlen(text) > 200 ? 200 : strlen(text));
    log_doc(doc, root);
}

/* The user line's text blocks, joined ("" when none). malloc'd. */
static char *user_text(yyjson_val *content) {
    if (yyjson_is_str(content)) return strdup(yyjson_get_str(content));
    size_t cap = 1, i, max;
    yyjson_val *b;
    yyjson_arr_foreach(content, i, max, b) cap += yyjson_get_len(yyjson_obj_get(b, "text")) + 1;
    char *out = calloc(1, cap);
    yyjson_arr_foreach(content, i, max, b) {
        const char *t = yyjson_get_str(yyjson_obj_get(b, "text"));
        if (!t) continue;
        if (*out) strcat(out, "\n");
        strcat(out, t);
    }
    return out;
}

static void handle_line(char *line) {
    yyjson_doc *doc = yyjson_read(line, strlen(line), 0);
    free(line);
    yyjson_val *root = yyjson_doc_get_root(doc);
    const char *type = yyjson_get_str(yyjson_obj_get(root, "type"));
    if (!type) {
        yyjson_doc_free(doc);
        return;
    }
    if (!strcmp(type, "control_request")) {
        const char *rid = yyjson_get_str(yyjson_obj_get(root, "request_id"));
        yyjson_val *req = yyjson_obj_get(root, "request");
        const char *subtype = yyjson_get_str(yyjson_obj_get(req, "subtype"));
        log_in(type, subtype, NULL);
        if (g.is_never_ready || !rid || !subtype) {
            yyjson_doc_free(doc);
            return;
        }
        if (!strcmp(subtype, "initialize")) {
            const char *sys = yyjson_get_str(yyjson_obj_get(req, "systemPrompt"));
            free(g.init_system);
            g.init_system = sys ? strdup(sys) : NULL;
            yyjson_mut_doc *out = yyjson_mut_doc_new(NULL);
            yyjson_mut_val *resp = yyjson_mut_obj(out);
            yyjson_mut_obj_add_arr(out, resp, "commands");
            yyjson_mut_obj_add_arr(out, resp, "models");
            yyjson_mut_obj_add_int(out, resp, "pid", getpid());
            emit_control_success(rid, out, resp);
        } else if (!strcmp(subtype, "interrupt")) {
            if (g.is_in_turn) g.is_interrupted = true;
            fprintf(stderr, "fake_cli: interrupt received\n");
            yyjson_mut_doc *out = yyjson_mut_doc_new(NULL);
            emit_control_success(rid, out, NULL);
        } else {
            yyjson_mut_doc *out = yyjson_mut_doc_new(NULL);
            emit_control_success(rid, out, NULL);
        }
        yyjson_doc_free(doc);
        return;
    }
    if (!strcmp(type, "control_response")) {
        const char *rid = yyjson_get_str(yyjson_ptr_get(root, "/response/request_id"));
        log_in(type, NULL, rid);
        if (rid && g.awaited_id[0] && !strcmp(rid, g.awaited_id) && !g.response) {
            g.response = doc;
            return;
        }
        yyjson_doc_free(doc);
        return;
    }
    if (!strcmp(type, "user")) {
        char *text = user_text(yyjson_ptr_get(root, "/message/content"));
        log_in(type, NULL, text);
        yyjson_doc_free(doc);
        if (g.is_never_ready) {
            free(text);
            return;
        }
        if (g.is_in_turn) fprintf(stderr, "fake_cli: a user line during a turn, ignored\n");
        else run_turn(text);
        free(text);
        return;
    }
    log_in(type, NULL, NULL);
    yyjson_doc_free(doc);
}

/* ---- start ---- */

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("(unreadable)");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int version_below_2_1_100(const char *v) {
    int a = 0, b = 0, c = 0;
    sscanf(v, "%d.%d.%d", &a, &b, &c);
    return a < 2 || (a == 2 && (b < 1 || (b == 1 && c < 100)));
}

int main(int argc, char **argv) {
    g.version = getenv("FAKE_CLI_VERSION") ? getenv("FAKE_CLI_VERSION") : "2.1.197";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--version")) {
            printf("%s (Claude Code)\n", g.version);
            return 0;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    g.is_old = version_below_2_1_100(g.version);
    const char *log_path = getenv("FAKE_CLI_LOG");
    if (log_path) g.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(g.model, sizeof g.model, "claude-fake");
    const char *sdk_url = NULL;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc), *args = yyjson_mut_arr(doc);
    for (int i = 1; i < argc; i++) {
        yyjson_mut_arr_add_strcpy(doc, args, argv[i]);
        if (i + 1 >= argc) continue;
        if (!strcmp(argv[i], "--model")) snprintf(g.model, sizeof g.model, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--sdk-url")) sdk_url = argv[i + 1];
        else if (!strcmp(argv[i], "--system-prompt-file") || !strcmp(argv[i], "--append-system-prompt-file"))
            g.system_file_text = read_file(argv[i + 1]);
    }
    const char *token = getenv("CLAUDE_CODE_SESSION_ACCESS_TOKEN");
    yyjson_mut_obj_add_int(doc, root, "pid", getpid());
    yyjson_mut_obj_add_val(doc, root, "argv", args);
    if (sdk_url) yyjson_mut_obj_add_strcpy(doc, root, "sdk_url", sdk_url);
    if (token) yyjson_mut_obj_add_strcpy(doc, root, "token", token);
    log_doc(doc, root);

    g.mode = getenv("FAKE_CLI_MODE") ? getenv("FAKE_CLI_MODE") : "normal";
    const char *once = getenv("FAKE_CLI_ONCE");
    if (once) {
        int fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) g.mode = "normal"; /* someone else took the fault */
        else close(fd);
    }
    if (!strcmp(g.mode, "exit_at_start")) {
        fprintf(stderr, "fake_cli: exiting at start as told\n");
        return 3;
    }
    g.is_never_ready = !strcmp(g.mode, "never_ready");
    if (!strcmp(g.mode, "stubborn")) {
        g.is_stubborn = true;
        signal(SIGTERM, SIG_IGN);
    }
    for (;;) {
        char *line = read_line(-1);
        if (line) handle_line(line);
    }
}
