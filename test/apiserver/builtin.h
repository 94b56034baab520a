// Defaulting and validation of built-in kinds, a subset of what the real API server does:
// defaults that show up in `kubectl get -o yaml` and `kubectl describe` (Deployment replicas and
// strategy, pod template restartPolicy/dnsPolicy/imagePullPolicy..., Service type, ports'
// protocol and targetPort, Secret type and stringData) and the validation errors tests most
// likely hit (names, required fields, selector/labels mismatch, ConfigMap keys, Secret base64).
#pragma once

#include "errors.h"

#include <string>
#include <vector>

namespace kta {

/// Fills defaults into `obj` in place (idempotent). Returns a 400 error for undecodable data.
Status defaultBuiltin(const std::string& kind, json& obj);

/// The ServiceAccount admission plugin on a new Pod: serviceAccountName defaults to `default`;
/// unless automountServiceAccountToken is false or a container already mounts
/// /var/run/secrets/kubernetes.io/serviceaccount, a projected volume `kube-api-access-xxxxx`
/// (token, kube-root-ca.crt's ca.crt, the namespace) is added and mounted read-only there in
/// every container and init container. (The ServiceAccount's own automount field is not read.)
void mountServiceAccountToken(json& pod);
/// Field errors in the API server's wording ("spec.selector: Required value").
std::vector<std::string> validateBuiltin(const std::string& kind, const json& obj, const json* old);
/// Field errors for metadata common to all kinds: label keys and values, annotation size.
std::vector<std::string> validateMetadata(const json& obj);
/// Field errors for metadata.name of a new object of `kind`.
std::vector<std::string> validateName(const std::string& kind, const std::string& name);

}  // namespace kta
