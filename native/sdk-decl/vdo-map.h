#ifndef OMNISIGHT_DECL_VDO_MAP_H
#define OMNISIGHT_DECL_VDO_MAP_H

#include "vdo-types.h"

VdoMap *vdo_map_new(void);
void vdo_map_set_uint32(VdoMap *self, const gchar *name, guint32 value);
void vdo_map_set_string(VdoMap *self, const gchar *name, const gchar *value);
void vdo_map_set_double(VdoMap *self, const gchar *name, gdouble value);
void vdo_map_set_boolean(VdoMap *self, const gchar *name, gboolean value);
guint32 vdo_map_get_uint32(const VdoMap *self, const gchar *name, guint32 def);

#endif
