// The operator's admission decisions, as the Apache operator's webhook makes them, on
// AdmissionReview objects (admission.k8s.io/v1, https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/):
//  - validate: FlinkDeployments with the reconciler's own validation
//    (FlinkDeploymentController::validateObject: the same rules, messages and field paths as
//    status.error); FlinkSessionJobs with the Apache rules that need no cluster state
//    (spec.deploymentName and spec.job.jarURI required, positive parallelism, known state and
//    upgradeMode). Other kinds and DELETE are allowed, and so is an UPDATE that leaves spec
//    unchanged or of a resource being deleted (finalizers, labels: a resource whose spec predates
//    the webhook must still be cleaned up).
//  - mutate: a FlinkSessionJob gets the label target.session=<spec.deploymentName> (as the Apache
//    operator's mutator adds it); nothing else changes.
// Pure functions of their input: thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "controller/resources.h"

namespace flink::k8s {

/// The AdmissionReview answer (response.uid = request.uid) to a validating request. A denial
/// carries status.code 400, reason "BadRequest" and the validation error as the message. A
/// review without request.uid is answered with an error (returned as a Status).
Result<nlohmann::json> validateAdmission(const nlohmann::json& review, const OperatorConfig& config);

/// The AdmissionReview answer to a mutating request: allowed, with a base64 JSONPatch
/// (patchType JSONPatch) when the object changes.
Result<nlohmann::json> mutateAdmission(const nlohmann::json& review);

/// The validation of a FlinkSessionJob object (used by validateAdmission); the error names the field.
Status validateFlinkSessionJob(const nlohmann::json& sessionJob);

}  // namespace flink::k8s
