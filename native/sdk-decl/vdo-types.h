/* Declarations of the VDO types hal_axis.c uses (see README.md in this folder). */
#ifndef OMNISIGHT_DECL_VDO_TYPES_H
#define OMNISIGHT_DECL_VDO_TYPES_H

#include <glib-object.h>

typedef struct _VdoMap VdoMap;
typedef struct _VdoStream VdoStream;
typedef struct _VdoFrame VdoFrame;
/* In current VDO a buffer and its frame are the same object. */
typedef VdoFrame VdoBuffer;
typedef void (*VdoBufferFinalizer)(VdoBuffer *self);

typedef enum { VDO_FORMAT_NONE = -1, VDO_FORMAT_H264 = 0, VDO_FORMAT_H265 = 1, VDO_FORMAT_JPEG = 2, VDO_FORMAT_YUV = 3 } VdoFormat;

#endif
