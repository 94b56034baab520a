// Decoding of Kubernetes protobuf request bodies ("k8s\0" + runtime.Unknown envelope), which
// kubectl's typed clients send for imperative commands (kubectl create namespace / configmap /
// secret / serviceaccount / deployment / service, kubectl run). Only those kinds and their
// commonly set fields are described; unknown fields are skipped. Responses are always JSON.
#pragma once

#include "errors.h"

#include <string>

namespace kta {

/// True when the body starts with the Kubernetes protobuf magic "k8s\0".
bool isK8sProtobuf(const std::string& body);
/// The object as JSON (apiVersion and kind from the envelope), or 415 for undescribed kinds.
Result<json> decodeK8sProtobuf(const std::string& body);

}  // namespace kta
