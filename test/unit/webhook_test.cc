// The admission webhook's decisions (webhook/admission.h) on AdmissionReview objects, and its
// certificate lifecycle (webhook/webhook_certificates.h) against the fake API with a fake clock:
// creation, a stable second round, renewal of the server certificate and of the CA, and the
// caBundle of the webhook configurations.
#include <catch2/catch.hpp>

#include "fake_kube_api.h"
#include "flink/common/certificates.h"
#include "flink/common/strings.h"
#include "webhook/admission.h"
#include "webhook/webhook_certificates.h"

using namespace flink;
using namespace flink::k8s;
using nlohmann::json;

namespace {

json minimalDeployment() {
  return json::parse(R"({
    "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
    "metadata": {"name": "minimal", "namespace": "default"},
    "spec": {"image": "flink-cpp:latest", "flinkVersion": "v1_20", "serviceAccount": "flink",
             "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "1"},
             "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "taskManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "job": {"jarURI": "builtin://flink-cpp-examples", "entryClass": "flinkcpp.examples.FlightDelays",
                     "parallelism": 1, "upgradeMode": "stateless"}}})");
}

json review(const std::string& kind, const json& object, const std::string& operation = "CREATE") {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
            {"kind", {{"group", "flink.apache.org"}, {"version", "v1beta1"}, {"kind", kind}}},
            {"operation", operation},
            {"namespace", "default"},
            {"name", object["metadata"].value("name", "")},
            {"object", object}}}};
}

}  // namespace

TEST_CASE("webhook: a valid FlinkDeployment is allowed, an invalid one denied with the field and reason") {
  OperatorConfig config;
  auto ok = validateAdmission(review("FlinkDeployment", minimalDeployment()), config);
  REQUIRE(ok.ok());
  CHECK((*ok)["kind"] == "AdmissionReview");
  CHECK((*ok)["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002");
  CHECK((*ok)["response"]["allowed"] == true);

  json bad = minimalDeployment();
  bad["spec"]["flinkConfiguration"]["kubernetes.namespace"] = "other";
  auto denied = validateAdmission(review("FlinkDeployment", bad), config);
  REQUIRE(denied.ok());
  CHECK((*denied)["response"]["allowed"] == false);
  CHECK((*denied)["response"]["status"]["code"] == 400);
  std::string message = (*denied)["response"]["status"]["message"];
  CHECK(message.rfind("spec.flinkConfiguration.kubernetes.namespace", 0) == 0);

  json noSa = minimalDeployment();
  noSa["spec"].erase("serviceAccount");
  auto denied2 = validateAdmission(review("FlinkDeployment", noSa, "UPDATE"), config);
  REQUIRE(denied2.ok());
  CHECK((*denied2)["response"]["allowed"] == false);
  CHECK((*denied2)["response"]["status"]["message"].get<std::string>().find("spec.serviceAccount") != std::string::npos);

  // A DELETE and other kinds are not judged; a body without request.uid is an error.
  CHECK((*validateAdmission(review("FlinkDeployment", bad, "DELETE"), config))["response"]["allowed"] == true);
  CHECK((*validateAdmission(review("FlinkStateSnapshot", bad), config))["response"]["allowed"] == true);
  CHECK_FALSE(validateAdmission(json{{"kind", "AdmissionReview"}}, config).ok());
}

TEST_CASE("webhook: a mode switch is judged against the last reconciled spec in the status") {
  json fd = minimalDeployment();
  json last = fd["spec"];
  fd["status"]["reconciliationStatus"]["lastReconciledSpec"] = last.dump();
  fd["spec"].erase("job");  // application -> session
  auto denied = validateAdmission(review("FlinkDeployment", fd, "UPDATE"), OperatorConfig{});
  REQUIRE(denied.ok());
  CHECK((*denied)["response"]["allowed"] == false);
}

TEST_CASE("webhook: FlinkSessionJob rules and the target.session label") {
  json sj = {{"apiVersion", "flink.apache.org/v1beta1"},
             {"kind", "FlinkSessionJob"},
             {"metadata", {{"name", "job1"}, {"namespace", "default"}}},
             {"spec", {{"deploymentName", "session"}, {"job", {{"jarURI", "local:///opt/job.so"}, {"parallelism", 2}}}}}};
  OperatorConfig config;
  CHECK((*validateAdmission(review("FlinkSessionJob", sj), config))["response"]["allowed"] == true);
  json noTarget = sj;
  noTarget["spec"].erase("deploymentName");
  auto d = validateAdmission(review("FlinkSessionJob", noTarget), config);
  CHECK((*d)["response"]["allowed"] == false);
  CHECK((*d)["response"]["status"]["message"].get<std::string>().rfind("spec.deploymentName", 0) == 0);
  json badMode = sj;
  badMode["spec"]["job"]["upgradeMode"] = "fast";
  CHECK((*validateAdmission(review("FlinkSessionJob", badMode), config))["response"]["status"]["message"]
            .get<std::string>()
            .rfind("spec.job.upgradeMode", 0) == 0);

  auto m = mutateAdmission(review("FlinkSessionJob", sj));
  REQUIRE(m.ok());
  CHECK((*m)["response"]["allowed"] == true);
  CHECK((*m)["response"]["patchType"] == "JSONPatch");
  json patch = json::parse(base64Decode((*m)["response"]["patch"].get<std::string>()));
  CHECK(sj.patch(patch)["metadata"]["labels"]["target.session"] == "session");
  // Already labelled: no patch. A FlinkDeployment: no patch.
  json labelled = sj.patch(patch);
  CHECK_FALSE((*mutateAdmission(review("FlinkSessionJob", labelled)))["response"].contains("patch"));
  CHECK_FALSE((*mutateAdmission(review("FlinkDeployment", minimalDeployment())))["response"].contains("patch"));
  // Other labels are kept.
  json other = sj;
  other["metadata"]["labels"] = {{"team", "a"}};
  json p2 = json::parse(base64Decode((*mutateAdmission(review("FlinkSessionJob", other)))["response"]["patch"].get<std::string>()));
  json after = other.patch(p2);
  CHECK(after["metadata"]["labels"]["team"] == "a");
  CHECK(after["metadata"]["labels"]["target.session"] == "session");
}

TEST_CASE("webhook certificates: made once, kept, renewed with a third left, the CA bundle patched") {
  auto api = std::make_shared<testing::FakeKubeApi>();
  const std::string vwcPath = types::kValidatingWebhookConfiguration.collectionPath("");
  json vwc = {{"apiVersion", "admissionregistration.k8s.io/v1"},
              {"kind", "ValidatingWebhookConfiguration"},
              {"metadata", {{"name", "flink-operator-ops-webhook-configuration"}}},
              {"webhooks", json::array({{{"name", "validationwebhook.flink.apache.org"},
                                         {"clientConfig", {{"service", {{"name", "flink-operator-webhook-service"},
                                                                        {"namespace", "ops"}}}}}}})}};
  REQUIRE(api->post(vwcPath, vwc).ok());
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  WebhookCertificateOptions o;
  o.ns = "ops";
  o.webhookConfiguration = "flink-operator-ops-webhook-configuration";
  o.certValidity = std::chrono::seconds(3000);  // the CA: 30000 s
  WebhookCertificates certs(api, o, [&] { return now; });

  auto first = certs.reconcile();
  REQUIRE(first.ok());
  auto secret = api->get(types::kSecret.objectPath("ops", "flink-operator-webhook-secret"));
  REQUIRE(secret.ok());
  CHECK(secret.body["type"] == "kubernetes.io/tls");
  std::string caPem = base64Decode(secret.body["data"]["ca.crt"].get<std::string>());
  CHECK(base64Decode(secret.body["data"]["tls.crt"].get<std::string>()) == first->certPem);
  CHECK(certs::signedBy(first->certPem, caPem));
  auto bundleOf = [&] {
    auto got = api->get(types::kValidatingWebhookConfiguration.objectPath("", o.webhookConfiguration));
    return base64Decode(got.body["webhooks"][0]["clientConfig"]["caBundle"].get<std::string>());
  };
  CHECK(bundleOf() == caPem);

  // A second round changes nothing.
  int writes = api->writes();
  auto second = certs.reconcile();
  REQUIRE(second.ok());
  CHECK(second->certPem == first->certPem);
  CHECK(api->writes() == writes);

  // Real certificates expire by the wall clock: move the fake clock relative to the real
  // notAfter. With a third of 3000 s left the server certificate is renewed, same CA.
  int64_t serverNotAfter = *certs::notAfterEpochSeconds(first->certPem);
  now = serverNotAfter - 999;
  auto renewed = certs.reconcile();
  REQUIRE(renewed.ok());
  CHECK(renewed->certPem != first->certPem);
  CHECK(certs::signedBy(renewed->certPem, caPem));
  CHECK(bundleOf() == caPem);

  // With a third of the CA's 30000 s left, a new CA; the bundle holds the new CA and the old one.
  int64_t caNotAfter = *certs::notAfterEpochSeconds(caPem);
  now = caNotAfter - 9999;
  auto rotated = certs.reconcile();
  REQUIRE(rotated.ok());
  secret = api->get(types::kSecret.objectPath("ops", "flink-operator-webhook-secret"));
  std::string newCa = base64Decode(secret.body["data"]["ca.crt"].get<std::string>());
  CHECK(newCa != caPem);
  CHECK(certs::signedBy(rotated->certPem, newCa));
  CHECK(bundleOf() == newCa + caPem);
  CHECK(certs.serverNames()[2] == "flink-operator-webhook-service.ops.svc");
}

TEST_CASE("certificates: server certificates carry DNS and IP names and never outlive their CA") {
  auto ca = certs::newCertificateAuthority("test-ca", "flink-cpp", std::chrono::seconds(3600));
  REQUIRE(ca.ok());
  auto server = certs::issueServerCertificate(*ca, "svc", {"svc.ns.svc", "127.0.0.1"}, std::chrono::seconds(86400));
  REQUIRE(server.ok());
  CHECK(*certs::notAfterEpochSeconds(server->certPem) <= *certs::notAfterEpochSeconds(ca->certPem));
  CHECK(certs::signedBy(server->certPem, ca->certPem));
  auto other = certs::newCertificateAuthority("other", "flink-cpp", std::chrono::seconds(3600));
  CHECK_FALSE(certs::signedBy(server->certPem, other->certPem));
  CHECK_FALSE(certs::issueServerCertificate(*ca, "svc", {}, std::chrono::seconds(60)).ok());
  CHECK_FALSE(certs::issueServerCertificate(certs::KeyPair{ca->certPem, other->keyPem}, "svc", {"a"}, std::chrono::seconds(60)).ok());
}

TEST_CASE("webhook: an UPDATE that leaves an invalid spec as it was (finalizers) or deletes is allowed") {
  OperatorConfig config;
  json bad = minimalDeployment();
  bad["spec"].erase("serviceAccount");
  json r = review("FlinkDeployment", bad, "UPDATE");
  json withFinalizer = bad;
  withFinalizer["metadata"]["finalizers"] = {"flinkdeployments.flink.apache.org/finalizer"};
  r["request"]["object"] = withFinalizer;
  r["request"]["oldObject"] = bad;
  CHECK((*validateAdmission(r, config))["response"]["allowed"] == true);
  json deleting = bad;
  deleting["metadata"]["deletionTimestamp"] = "2026-12-07T16:00:00Z";
  deleting["spec"]["job"]["parallelism"] = 0;
  r["request"]["object"] = deleting;
  CHECK((*validateAdmission(r, config))["response"]["allowed"] == true);
  // A changed spec is judged.
  json changed = bad;
  changed["spec"]["job"]["parallelism"] = 3;
  r["request"]["object"] = changed;
  CHECK((*validateAdmission(r, config))["response"]["allowed"] == false);
}
