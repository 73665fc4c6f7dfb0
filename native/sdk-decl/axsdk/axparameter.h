/* Declarations of the axparameter calls hal_axis.c uses (see ../README.md). */
#ifndef OMNISIGHT_DECL_AXPARAMETER_H
#define OMNISIGHT_DECL_AXPARAMETER_H

#include <glib.h>

typedef struct _AXParameter AXParameter;

AXParameter *ax_parameter_new(const gchar *app_name, GError **error);
gboolean ax_parameter_get(AXParameter *parameter, const gchar *name, gchar **value, GError **error);
void ax_parameter_free(AXParameter *parameter);

#endif
