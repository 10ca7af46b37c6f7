/* STUB: replaced by the OpenAI adapter. */
#include "app.h"

void openai_register_routes(app_t *app) { (void)app; }
