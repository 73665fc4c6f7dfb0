#ifndef OMNISIGHT_DECL_VDO_STREAM_H
#define OMNISIGHT_DECL_VDO_STREAM_H

#include "vdo-buffer.h"
#include "vdo-map.h"
#include "vdo-types.h"

VdoStream *vdo_stream_new(VdoMap *settings, VdoBufferFinalizer fin, GError **error);
gboolean vdo_stream_start(VdoStream *self, GError **error);
void vdo_stream_stop(VdoStream *self);
gint vdo_stream_get_fd(VdoStream *self, GError **error);
VdoMap *vdo_stream_get_info(VdoStream *self, GError **error);
VdoBuffer *vdo_stream_get_buffer(VdoStream *self, GError **error);
gboolean vdo_stream_buffer_unref(VdoStream *self, VdoBuffer **buffer, GError **error);

#endif
