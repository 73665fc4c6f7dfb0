#ifndef OMNISIGHT_DECL_VDO_FRAME_H
#define OMNISIGHT_DECL_VDO_FRAME_H

#include "vdo-types.h"

guint64 vdo_frame_get_timestamp(VdoFrame *self);
gsize vdo_frame_get_size(VdoFrame *self);

#endif
