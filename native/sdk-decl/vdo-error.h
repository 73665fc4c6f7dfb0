#ifndef OMNISIGHT_DECL_VDO_ERROR_H
#define OMNISIGHT_DECL_VDO_ERROR_H

#include <glib.h>

#define VDO_ERROR (vdo_error_quark())
enum { VDO_ERROR_NO_DATA = 13 };
GQuark vdo_error_quark(void);

#endif
