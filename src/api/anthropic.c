/* STUB: replaced by the Anthropic adapter. */
#include "app.h"

void anthropic_register_routes(app_t *app) { (void)app; }
