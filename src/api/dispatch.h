/* The HTTP server's single entry: route, check the API key, hand to the handler, or answer the error. */
#ifndef CWP_API_DISPATCH_H
#define CWP_API_DISPATCH_H
#include "http/server.h"

/* An http_handler_fn; ctx is the app_t. */
void app_dispatch(http_exchange_t *ex, void *app);
/* An http_error_fn: errors the server found (413, ...) in the path's dialect. */
void app_http_error(http_exchange_t *ex, int status, const char *message, void *app);

#endif
