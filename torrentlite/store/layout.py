"""How the 87 resources map onto tables: shared tables, views, relations, computed fields.

This is the hand-written half of the registry. The spec says what each resource shows; this
module says where each field lives: a column of the resource's table, a relation to another
table, or a value computed from related rows. `registry.py` joins the two and checks that
every field of every resource is accounted for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# Resources served without a table (their endpoints report on this box).
TABLELESS = ("network", "torrentsuite")

# table -> (resource whose fields define the table's columns, other resources that are views over it)
SHARED_TABLES = {
    "kitinfo": ("kitinfo", (
        "sequencingkitinfo", "activesequencingkitinfo", "activepgmsequencingkitinfo",
        "activeprotonsequencingkitinfo", "librarykitinfo", "activelibrarykitinfo",
        "activepgmlibrarykitinfo", "activeprotonlibrarykitinfo", "ionchefprepkitinfo",
        "activeionchefprepkitinfo", "activeioncheflibraryprepkitinfo",
    )),
    "kitpart": ("kitpart", ("sequencingkitpart", "librarykitpart")),
    "plannedexperiment": ("plannedexperimentdb", (
        "plannedexperiment", "availableplannedexperimentsummary", "availableonetouchplannedexperiment",
        "availableonetouchplannedexperimentsummary", "availableionchefplannedexperiment",
        "availableionchefplannedexperimentsummary", "ionchefplantemplate", "ionchefplantemplatesummary",
        "onetouchplantemplate", "onetouchplantemplatesummary", "plantemplatesummary", "plantemplatebasicinfo",
    )),
    "results": ("results", ("projectresults", "compositeresult", "compositedatamanagement", "monitorresult")),
    "experiment": ("experiment", ("compositeexperiment",)),
    "eventlog": ("eventlog", ("datamanagementhistory", "clusterinfohistory")),
    "samplesetitem": ("samplesetitem", ("samplesetiteminfo",)),
}


@dataclass(frozen=True)
class Link:
    """A relation of a table.

    kind: "fk" (column `<field>_id` here), "reverse" (rows of `table` whose fk `via` points here),
    "reverse_one" (the first such row), "m2m" (join table owned here), "m2m_reverse" (join table
    owned by `table` under its field `via`).
    """

    kind: str
    table: str
    via: str = ""
    on_delete: str = ""

    @property
    def to_many(self) -> bool:
        return self.kind in ("reverse", "m2m", "m2m_reverse")


def fk(table: str, on_delete: str = "") -> Link:
    return Link("fk", table, on_delete=on_delete)


def rev(table: str, via: str) -> Link:
    return Link("reverse", table, via)


def rev_one(table: str, via: str) -> Link:
    return Link("reverse_one", table, via)


def m2m(table: str) -> Link:
    return Link("m2m", table)


def m2m_rev(table: str, via: str) -> Link:
    return Link("m2m_reverse", table, via)


_KIT_FKS = ("defaultSeqKit", "defaultLibKit", "defaultSamplePrepKit", "defaultControlSeqKit",
            "defaultIonChefPrepKit", "defaultIonChefSequencingKit", "defaultTemplateKit")
_METRICS = ("libmetrics", "tfmetrics", "analysismetrics", "qualitymetrics")

RELATIONS: dict[str, dict[str, Link]] = {
    "kitinfo": {"parts": rev("kitpart", "kit"), "defaultFlowOrder": fk("floworder")},
    "kitpart": {"kit": fk("kitinfo")},
    "analysisargs": {"creator": fk("user"), "lastModifiedUser": fk("user"), "applType": fk("runtype"),
                     "applGroup": fk("applicationgroup")},
    **{m: {"report": fk("results")} for m in _METRICS},
    "applicationgroup": {"applications": m2m_rev("runtype", "applicationGroups")},
    "runtype": {"applicationGroups": m2m("applicationgroup")},
    "applproduct": {"appl": fk("runtype"), "applicationGroup": fk("applicationgroup"),
                    **{k: fk("kitinfo") for k in _KIT_FKS}},
    "plannedexperiment": {
        "applicationGroup": fk("applicationgroup"), "sampleGrouping": fk("samplegrouptype_cv"),
        "projects": m2m("project"), "sampleSets": m2m("sampleset"),
        "qcValues": rev("plannedexperimentqc", "plannedExperiment"),
        "experiment": rev_one("experiment", "plan"),
    },
    "plannedexperimentqc": {"plannedExperiment": fk("plannedexperiment"), "qcType": fk("qctype")},
    "experiment": {
        "plan": fk("plannedexperiment", on_delete="CASCADE"), "repResult": fk("results"),
        "results": rev("results", "experiment"), "eas_set": rev("experimentanalysissettings", "experiment"),
        "samples": m2m_rev("sample", "experiments"),
    },
    "experimentanalysissettings": {"experiment": fk("experiment", on_delete="CASCADE"),
                                   "results": rev("results", "eas")},
    "results": {
        "experiment": fk("experiment", on_delete="CASCADE"), "eas": fk("experimentanalysissettings"),
        "reportstorage": fk("reportstorage"), "projects": m2m("project"),
        "pluginresults": rev("pluginresult", "result"),
        **{m: rev(m, "report") for m in _METRICS},
    },
    "content": {"publisher": fk("publisher"), "contentupload": fk("contentupload")},
    "log": {"upload": fk("contentupload")},
    "plugin": {},
    "pluginresult": {"result": fk("results"), "owner": fk("user"), "plugin": fk("plugin"),
                     "plugin_result_jobs": rev("PluginResultJob", "plugin_result")},
    "PluginResultJob": {"plugin_result": fk("pluginresult")},
    "project": {"creator": fk("user")},
    "rig": {"location": fk("location")},
    "sample": {"experiments": m2m("experiment"), "sampleSets": rev("samplesetitem", "sample")},
    "sampleannotation_cv": {"sampleGroupType_CV": fk("samplegrouptype_cv")},
    "sampleattribute": {"dataType": fk("sampleattributedatatype")},
    "samplegrouptype_cv": {"sampleAnnotation_set": rev("sampleannotation_cv", "sampleGroupType_CV"),
                           "sampleSets": rev("sampleset", "SampleGroupType_CV")},
    "sampleprepdata": {"sampleSet": rev_one("sampleset", "libraryPrepInstrumentData")},
    "sampleset": {"SampleGroupType_CV": fk("samplegrouptype_cv"),
                  "libraryPrepInstrumentData": fk("sampleprepdata"),
                  "samples": rev("samplesetitem", "sampleSet")},
    "samplesetitem": {"sample": fk("sample", on_delete="CASCADE"), "sampleSet": fk("sampleset", on_delete="CASCADE"),
                      "dnabarcode": fk("dnabarcode")},
    "supportupload": {"result": fk("results"), "file": fk("filemonitor")},
    "user": {"profile": rev_one("userprofile", "user")},
    "userprofile": {"user": fk("user")},
}

# Relations a view shows under another name or with another shape than its table's.
VIEW_RELATIONS: dict[str, dict[str, Link]] = {
    "compositeresult": {m: rev_one(m, "report") for m in ("libmetrics", "analysismetrics", "qualitymetrics")},
    "monitorresult": {m: rev_one(m, "report") for m in ("libmetrics", "analysismetrics", "qualitymetrics")},
}

# Columns a table has beyond its resource's documented fields: links the API hides, and the
# bookkeeping the server needs. (name -> spec-style type)
HIDDEN_COLUMNS: dict[str, dict[str, str]] = {
    "user": {"password": "string", "is_superuser": "boolean", "is_staff": "boolean"},
    "userprofile": {"name": "string", "phone_number": "string", "title": "string", "note": "string",
                    "last_read_news_post": "datetime"},
    "reportstorage": {"name": "string", "webServerPath": "string", "dirPath": "string", "default": "boolean"},
    "plugin": {"requires_configuration": "boolean"},
    "pluginresult": {"validation_errors": "json"},
    "PluginResultJob": {"external_id": "string", "executor": "string", "executor_meta": "json",
                        "usage": "json", "reason": "string", "submitted": "datetime"},
}

# Tables with no documented resource of their own.
UNDOCUMENTED_TABLES = ("reportstorage", "userprofile")

# Primary key column when it is not `id`.
PRIMARY_KEYS = {"rig": "name"}

# URL key used for detail URIs when it is not the primary key.
DETAIL_KEYS = {"publisher": "name"}

# Fields whose value is computed at read time (and ignored on write).
COMPUTED: dict[str, tuple[str, ...]] = {
    "results": ("filesystempath", "bamLink", "planShortID", "pluginState", "pluginStore"),
    "experiment": ("runtype", "isProton", "sample"),
    "project": ("resultsCount",),
    "user": ("full_name",),
    "plugin": ("isConfig", "isPlanConfig", "isInstance", "hasAbout", "isSupported", "isUpgradable",
               "input", "versionedName", "availableVersions"),
    "pluginresult": ("major", "path", "URL", "files", "can_terminate", "state", "starttime", "endtime",
                     "resultName", "reportLink", "pluginName", "pluginVersion"),
    "sampleset": ("sampleCount", "sampleGroupTypeName", "libraryPrepTypeDisplayedName",
                  "libraryPrepKitDisplayedName"),
    "sampleattribute": ("sampleCount", "dataType_name"),
    "contentupload": ("pub",),
    "sequencingkitpart": ("defaultFlowOrder",),
    "plannedexperimentdb": ("project", "projects", "parentPlan", "childPlans"),
    "datamanagementhistory": ("resultsName",),
    "clusterinfohistory": ("name",),
    "samplesetiteminfo": ("sampleSetPk", "sampleSetStatus", "samplePk", "sampleExternalId",
                          "sampleDisplayedName", "sampleDescription", "dnabarcode", "dnabarcodeKit"),
    "compositedatamanagement": ("expDir", "expName", "sigproc_state", "basecall_state", "output_state",
                                "misc_state", "sigproc_keep", "basecall_keep", "output_keep", "misc_keep",
                                "in_process"),
    "compositeexperiment": ("_host",),
    "monitorresult": ("library", "barcodeId"),
    "plantemplatebasicinfo": ("projects", "eas", "reference", "hotSpotRegionBedFile", "targetRegionBedFile",
                              "barcodeKitName", "applicationGroupDisplayedName", "applicationCategoryDisplayedName",
                              "sampleGroupName", "sequencingInstrumentType", "templatePrepInstrumentType",
                              "irAccountName", "notes"),
}

# The full plan view: plan columns plus values pulled from its experiment and latest EAS.
PLAN_FULL_VIEWS = ("plannedexperiment", "availableplannedexperimentsummary", "availableonetouchplannedexperiment",
                   "ionchefplantemplate", "onetouchplantemplate")
PLAN_FULL_COMPUTED = (
    "project", "projects", "parentPlan", "childPlans",
    "autoAnalyze", "chipType", "chipBarcode", "flows", "flowsInOrder", "notes", "sequencekitname", "platform",
    "chefInfo", "barcodedSamples", "barcodeId", "bedfile", "regionfile", "forward3primeadapter", "library",
    "libraryKey", "tfKey", "librarykitname", "isDuplicateReads", "base_recalibration_mode", "realign",
    "sseBedFile", "selectedPlugins", "variantfrequency", "sample", "sampleDisplayedName",
    "sampleSetDisplayedName", "libraryPrepType", "libraryPrepTypeDisplayedName", "applicationGroupDisplayedName",
    "applicationCategoryDisplayedName", "sampleGroupingName", "earlyDatFileDeletion", "reverse3primeadapter",
    "reverselibrarykey",
)
for _name in PLAN_FULL_VIEWS:
    COMPUTED[_name] = PLAN_FULL_COMPUTED

# Keys shown beyond the documented field list (the published examples carry them).
ANALYSIS_ARG_KEYS = ("beadfindargs", "analysisargs", "prebasecallerargs", "calibrateargs", "basecallerargs",
                     "alignmentargs", "ionstatsargs", "thumbnailbeadfindargs", "thumbnailanalysisargs",
                     "prethumbnailbasecallerargs", "thumbnailcalibrateargs", "thumbnailbasecallerargs",
                     "thumbnailalignmentargs", "thumbnailionstatsargs")
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "chip": ANALYSIS_ARG_KEYS,
    **{name: ANALYSIS_ARG_KEYS + ("custom_args",) for name in PLAN_FULL_VIEWS},
    "compositedatamanagement": ("sigproc_diskspace", "basecall_diskspace", "output_diskspace", "misc_diskspace"),
    "compositeexperiment": ("applicationCategoryDisplayedName", "barcodeId", "barcodedSamples", "chipDescription",
                            "chipInstrumentType", "keep", "library", "references", "sample",
                            "sampleDisplayedName", "sampleSetName"),
    "compositeresult": ("analysis_metrics", "quality_metrics", "isShowAllMetrics", "status_display"),
    # What the job used (wall/CPU seconds, peak memory of its process tree) and why it ended so.
    "PluginResultJob": ("usage", "reason"),
}

# Related fields serialized as the full nested object (everything else is a URI).
_KIT_VIEWS = ("kitinfo",) + SHARED_TABLES["kitinfo"][1]
NESTED: dict[str, tuple[str, ...]] = {
    **{kit: ("parts",) for kit in _KIT_VIEWS},
    "applicationgroup": ("applications",),
    "applproduct": ("appl", "applicationGroup", "defaultSeqKit", "defaultLibKit"),
    "analysisargs": ("creator", "lastModifiedUser", "applType", "applGroup"),
    "experiment": ("eas_set",),
    "results": ("reportstorage",),
    "pluginresult": ("plugin_result_jobs",),
    **{pe: ("qcValues",) for pe in PLAN_FULL_VIEWS + ("plannedexperimentdb",)},
    "plannedexperimentqc": ("qcType",),
    "rig": ("location",),
    "user": ("profile",),
    "sampleset": ("libraryPrepInstrumentData",),
    "supportupload": ("file",),
    "compositeexperiment": ("results", "plan"),
    "compositeresult": ("projects", "eas", "analysismetrics", "libmetrics", "qualitymetrics"),
    "monitorresult": ("experiment", "projects", "eas", "analysismetrics", "libmetrics", "qualitymetrics"),
}

# Nested shapes of helper resources that have no page of their own: (table, keys).
NESTED_SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "reportstorage": ("reportstorage", ("id", "name", "webServerPath", "dirPath", "default")),
    "userprofile": ("userprofile", ("id", "name", "phone_number", "title", "note", "last_read_news_post")),
    "compositeplannedexperiment": ("plannedexperiment", ("id", "runType", "sampleTubeLabel")),
    "compositeprojects": ("project", ("id", "name", "modified")),
    "compositeexperimentanalysissettings": ("experimentanalysissettings", ("reference", "barcodeKitName")),
    "compositelibmetrics": ("libmetrics", ("id", "aveKeyCounts", "i100Q20_reads", "q20_mean_alignment_length")),
    "compositeanalysismetrics": ("analysismetrics", ("id", "bead", "empty", "excluded", "ignored", "lib",
                                                     "libFinal", "live", "pinned", "total_wells")),
    "compositequalitymetrics": ("qualitymetrics", ("id", "q0_bases", "q0_mean_read_length", "q0_reads",
                                                   "q20_bases", "q20_mean_read_length", "q20_reads")),
    "monitorexperiment": ("experiment", ("id", "expName", "displayName", "date", "chipType", "pgmName", "status",
                                         "ftpStatus", "flows", "notes", "platform", "runMode", "star",
                                         "storage_options", "resultDate", "chipBarcode")),
}


@dataclass(frozen=True)
class ViewRule:
    """Which rows of the table a view shows: lookups (API filter syntax), ANDed; `exclude` negated."""

    where: tuple[tuple[str, object], ...] = ()
    exclude: tuple[tuple[str, object], ...] = ()
    list_where: tuple[tuple[str, object], ...] = ()
    order: tuple[str, ...] = ()


def _rule(where=None, exclude=None, list_where=None, order=()):
    return ViewRule(tuple((where or {}).items()), tuple((exclude or {}).items()),
                    tuple((list_where or {}).items()), tuple(order))


_ACTIVE_PGM = ("", "pgm")
_ACTIVE_PROTON = ("", "proton")
_PE_PLANNED = {"planStatus__in": ("", "planned"), "isReusable": False, "planExecuted": False}
_PE_CHEF = {"planStatus": "pending", "isReusable": False, "planExecuted": False}
VIEW_RULES: dict[str, ViewRule] = {
    "sequencingkitinfo": _rule({"kitType": "SequencingKit"}),
    "activesequencingkitinfo": _rule({"kitType": "SequencingKit", "isActive": True}),
    "activepgmsequencingkitinfo": _rule({"kitType": "SequencingKit", "isActive": True,
                                         "instrumentType__in": _ACTIVE_PGM}),
    "activeprotonsequencingkitinfo": _rule({"kitType": "SequencingKit", "isActive": True,
                                            "instrumentType__in": _ACTIVE_PROTON}),
    "librarykitinfo": _rule({"kitType": "LibraryKit"}),
    "activelibrarykitinfo": _rule({"kitType": "LibraryKit", "isActive": True}),
    "activepgmlibrarykitinfo": _rule({"kitType": "LibraryKit", "isActive": True, "instrumentType__in": _ACTIVE_PGM}),
    "activeprotonlibrarykitinfo": _rule({"kitType": "LibraryKit", "isActive": True,
                                         "instrumentType__in": _ACTIVE_PROTON}),
    "ionchefprepkitinfo": _rule({"kitType": "IonChefPrepKit"}),
    "activeionchefprepkitinfo": _rule({"kitType": "IonChefPrepKit", "isActive": True}),
    "activeioncheflibraryprepkitinfo": _rule({"kitType": "LibraryPrepKit", "isActive": True,
                                              "samplePrep_instrumentType__icontains": "IC"}),
    "sequencingkitpart": _rule({"kit__kitType": "SequencingKit"}),
    "librarykitpart": _rule({"kit__kitType": "LibraryKit"}),
    "plannedexperiment": _rule(order=("-id",)),
    "plannedexperimentdb": _rule(order=("-id",)),
    "availableplannedexperimentsummary": _rule(_PE_PLANNED, order=("-id",)),
    "availableonetouchplannedexperiment": _rule(_PE_PLANNED, list_where={"templatingKitName__in": "@TemplatingKit"},
                                                order=("-id",)),
    "availableonetouchplannedexperimentsummary": _rule(_PE_PLANNED,
                                                       list_where={"templatingKitName__in": "@TemplatingKit"},
                                                       order=("-id",)),
    "availableionchefplannedexperiment": _rule(_PE_CHEF, list_where={"templatingKitName__in": "@IonChefPrepKit"},
                                               order=("-id",)),
    "availableionchefplannedexperimentsummary": _rule(_PE_CHEF,
                                                      list_where={"templatingKitName__in": "@IonChefPrepKit"},
                                                      order=("-id",)),
    "ionchefplantemplate": _rule({"isReusable": True}, list_where={"templatingKitName__in": "@IonChefPrepKit"},
                                 order=("-id",)),
    "ionchefplantemplatesummary": _rule({"isReusable": True},
                                        list_where={"templatingKitName__in": "@IonChefPrepKit"}, order=("-id",)),
    "onetouchplantemplate": _rule({"isReusable": True}, list_where={"templatingKitName__in": "@TemplatingKit"},
                                  order=("-id",)),
    "onetouchplantemplatesummary": _rule({"isReusable": True},
                                         list_where={"templatingKitName__in": "@TemplatingKit"}, order=("-id",)),
    "plantemplatesummary": _rule({"isReusable": True}, order=("-id",)),
    "plantemplatebasicinfo": _rule({"isReusable": True, "isSystemDefault": False},
                                   exclude={"planStatus": "inactive"}, order=("-id",)),
    "pluginresult": _rule(order=("-id",)),
    "plugin": _rule({"active": True}),
    "referencegenome": _rule(order=("short_name",)),
    "contentupload": _rule(order=("-id",)),
    "compositedatamanagement": _rule(exclude={"experiment__expDir": ""}),
    "compositeexperiment": _rule(exclude={"expName": "NONE_ReportOnly_NONE"},
                                 list_where={"status__ne": "planned", "expDir__ne": ""}, order=("-resultDate",)),
    "monitorresult": _rule(exclude={"experiment__expName": "NONE_ReportOnly_NONE"},
                           list_where={"experiment__status__ne": "planned", "experiment__expDir__ne": "",
                                       "@recent": True},
                           order=("-timeStamp",)),
    "datamanagementhistory": _rule({"content_type": "results"}),
    "clusterinfohistory": _rule({"content_type": "cruncher"}),
    "samplegrouptype_cv": _rule(exclude={"displayedName": "DNA_RNA"}),
}

# Filtering allowed per resource when it is not "every stored field" (tastypie's Meta.filtering).
FILTERING_OVERRIDES: dict[str, Optional[dict[str, object]]] = {
    **{pe: {} for pe in ("ionchefplantemplate", "ionchefplantemplatesummary", "onetouchplantemplate",
                         "onetouchplantemplatesummary", "availableonetouchplannedexperiment")},
    "projectresults": {n: 2 for n in ("id", "resultsName", "timeStamp", "projects", "status", "reportLink",
                                      "reportStatus", "reference")},
    "location": {"name": 2},
}
# tastypie's kit views list the kit type they filter on as the only allowed "lookup".
for _kit in SHARED_TABLES["kitinfo"][1]:
    _kind = dict(VIEW_RULES[_kit].where)["kitType"]
    FILTERING_OVERRIDES[_kit] = {"kitType": [_kind]}

# Ordering allowed per resource when it is not "every stored field" (tastypie's Meta.ordering):
# PluginResultJob has no ordering list at all, location lists only name (and a comment it lacks).
ORDERING_OVERRIDES: dict[str, tuple[str, ...]] = {
    "PluginResultJob": (),
    "location": ("name", "comment"),
}

# Columns that view rules, default orders and common list filters use, beyond FKs and uniques.
INDEXES: dict[str, tuple[str, ...]] = {
    "kitinfo": ("kitType", "isActive", "instrumentType", "samplePrep_instrumentType", "name"),
    "plannedexperiment": ("planStatus", "isReusable", "planExecuted", "isSystemDefault", "templatingKitName",
                          "planShortID", "planGUID", "planName", "date"),
    "results": ("timeStamp", "resultsName"),
    "experiment": ("expName", "status", "expDir", "resultDate", "date", "ftpStatus"),
    "eventlog": ("content_type", "object_pk", "created"),
    "plugin": ("name", "active"),
    "referencegenome": ("short_name", "index_version"),
    "samplegrouptype_cv": ("displayedName",),
    "dnabarcode": ("name",),
    "PluginResultJob": ("grid_engine_jobid", "state"),
    "project": ("name",),
    "sample": ("name",),
}

# Extra columns of eventlog: which kind of object a log line is about (Django's content type).
HIDDEN_COLUMNS["eventlog"] = {"content_type": "string"}
