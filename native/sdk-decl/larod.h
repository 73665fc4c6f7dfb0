/* Declarations of the larod API calls hal_axis.c uses (see README.md in this folder). */
#ifndef OMNISIGHT_DECL_LAROD_H
#define OMNISIGHT_DECL_LAROD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct larodConnection larodConnection;
typedef struct larodDevice larodDevice;
typedef struct larodModel larodModel;
typedef struct larodMap larodMap;
typedef struct larodTensor larodTensor;
typedef struct larodJobRequest larodJobRequest;

typedef int larodErrorCode;
typedef struct {
  larodErrorCode code;
  const char *msg;
} larodError;

typedef enum { LAROD_ACCESS_INVALID = 0, LAROD_ACCESS_PRIVATE = 1, LAROD_ACCESS_PUBLIC = 2 } larodAccess;

#define LAROD_INVALID_FD (-1)

bool larodConnect(larodConnection **conn, larodError **error);
bool larodDisconnect(larodConnection **conn, larodError **error);
const larodDevice *larodGetDevice(const larodConnection *conn, const char *name, uint32_t instance, larodError **error);
larodModel *larodLoadModel(larodConnection *conn, int fd, const larodDevice *dev, larodAccess access, const char *name, const larodMap *params, larodError **error);
void larodDestroyModel(larodModel **model);
larodMap *larodCreateMap(larodError **error);
void larodDestroyMap(larodMap **map);
bool larodMapSetStr(larodMap *map, const char *key, const char *value, larodError **error);
bool larodMapSetInt(larodMap *map, const char *key, int64_t value, larodError **error);
bool larodMapSetIntArr2(larodMap *map, const char *key, int64_t value0, int64_t value1, larodError **error);
larodTensor **larodAllocModelInputs(larodConnection *conn, const larodModel *model, uint32_t fdPropFlags, size_t *numTensors, larodMap *params, larodError **error);
larodTensor **larodAllocModelOutputs(larodConnection *conn, const larodModel *model, uint32_t fdPropFlags, size_t *numTensors, larodMap *params, larodError **error);
bool larodDestroyTensors(larodConnection *conn, larodTensor ***tensors, size_t numTensors, larodError **error);
int larodGetTensorFd(const larodTensor *tensor, larodError **error);
larodJobRequest *larodCreateJobRequest(const larodModel *model, larodTensor **inputTensors, size_t numInputs, larodTensor **outputTensors, size_t numOutputs, larodMap *params, larodError **error);
void larodDestroyJobRequest(larodJobRequest **jobReq);
bool larodRunJob(larodConnection *conn, const larodJobRequest *jobReq, larodError **error);
void larodClearError(larodError **error);

#endif
