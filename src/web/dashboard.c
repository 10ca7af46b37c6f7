/* STUB: replaced by the dashboard module. */
#include "app.h"

void dashboard_register_routes(app_t *app) { (void)app; }
