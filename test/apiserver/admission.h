// Dynamic admission control: admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration and
// MutatingWebhookConfiguration objects (their defaulting and validation) and the calls to the
// webhooks they name, as kube-apiserver makes them (AdmissionReview admission.k8s.io/v1).
// Source: https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
// and the admission webhook plugin of k8s.io/apiserver (plugin/webhook: rules, namespace and
// object selectors, failurePolicy, errors.ToStatusErr).
//
// The calls are made synchronously from Api::admit, i.e. inside a Store transaction: the store
// lock is held while a webhook answers (a webhook that writes to this API server from its
// handler would deadlock). Each call connects with a timeout and is bounded by timeoutSeconds.
#pragma once

#include "registry.h"
#include "storage.h"

#include <string>
#include <vector>

namespace kta {

/// Fills the defaults kube-apiserver sets on a ValidatingWebhookConfiguration or
/// MutatingWebhookConfiguration (failurePolicy Fail, matchPolicy Equivalent, timeoutSeconds 10,
/// empty namespace/object selectors, rules' scope "*", service port 443, mutating webhooks'
/// reinvocationPolicy Never). Idempotent.
void defaultWebhookConfiguration(json& obj, bool mutating);
/// Field errors in kube-apiserver's wording ("webhooks[0].sideEffects: Required value: ...").
std::vector<std::string> validateWebhookConfiguration(const json& obj);

/// What one write asks for, as admission sees it.
struct AdmissionAttributes {
  TypePtr type;
  std::string version;      // the version the request uses
  std::string ns, name, subresource;
  std::string operation;    // CREATE or UPDATE
  const json* oldObject = nullptr;  // at `version`, for UPDATE
  bool dryRun = false;
  std::string fieldManager;
};

/// Calls the matching mutating webhooks in order (configurations sorted by name) and applies
/// their JSONPatch responses to `obj` (at `a.version`). A denial is the webhook's Status (code at
/// least 400, `admission webhook "w" denied the request: ...`); a failed call with failurePolicy
/// Fail is a 500 `failed calling webhook "w": ...`, with Ignore it is skipped.
Status callMutatingWebhooks(const Store::Txn& txn, const AdmissionAttributes& a, json& obj,
                            std::vector<std::string>& warnings);
/// Calls the matching validating webhooks (in order, not in parallel); results as above. A
/// patch in a validating webhook's response makes the call fail.
Status callValidatingWebhooks(const Store::Txn& txn, const AdmissionAttributes& a, const json& obj,
                              std::vector<std::string>& warnings);

}  // namespace kta
