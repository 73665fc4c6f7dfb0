#ifndef OMNISIGHT_DECL_VDO_BUFFER_H
#define OMNISIGHT_DECL_VDO_BUFFER_H

#include "vdo-types.h"

VdoFrame *vdo_buffer_get_frame(VdoBuffer *self);
gpointer vdo_buffer_get_data(VdoBuffer *self);

#endif
