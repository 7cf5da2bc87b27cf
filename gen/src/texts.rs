//! Free text: reviews by sentiment, search queries, refund reasons, signup sources.
//!
//! A few entries contain double quotes or a backslash on purpose, so that consumers' string
//! escaping is exercised by ordinary data.

/// Reviews for ratings 4-5.
pub(crate) const POSITIVE_ZH: [&str; 10] = [
    "质量很好，物超所值",
    "物流很快，包装完好",
    "第二次购买了，一如既往的好",
    "颜色和图片一样，很满意",
    "客服态度很好，耐心解答",
    "尺码标准，穿着舒服",
    "宝贝收到了，孩子很喜欢",
    "性价比很高，推荐购买",
    "包装精美，送人很有面子",
    "正品，和专柜一样",
];

/// Reviews for rating 3 (and some 2s): mixed feelings.
pub(crate) const MIXED_ZH: [&str; 6] = [
    "物流很快，但是包装破了",
    "一般般吧，没有想象中好",
    "还行，就是有点贵",
    "东西不错，但是发货太慢了",
    "说是\"防水\"的，下雨天还是进水了",
    "颜色有色差，凑合用吧",
];

/// Reviews for ratings 1-2; several ask for a refund.
pub(crate) const NEGATIVE_ZH: [&str; 8] = [
    "质量太差了，申请退款",
    "收到就是坏的，要求退款",
    "和描述完全不符，已退货退款",
    "客服不理人，再也不买了",
    "尺码偏小，退款流程太麻烦",
    "等了两周还没到货，退款！",
    "假货，差评",
    "用了一次就坏了，失望",
];

/// English reviews for ratings 4-5.
pub(crate) const POSITIVE_EN: [&str; 7] = [
    "Great quality, fast delivery",
    "Exactly as described, would buy again",
    "Love it! 5 stars",
    "Good value for the price",
    "The \"premium\" version is worth it",
    "Fits perfectly, very comfortable",
    "My kids love it",
];

/// English reviews for rating 3.
pub(crate) const MIXED_EN: [&str; 5] = [
    "Okay, but the box was damaged",
    "Does the job. Nothing special",
    "meh :-\\",
    "Nice colour, a bit pricey",
    "Good product, slow shipping",
];

/// English reviews for ratings 1-2.
pub(crate) const NEGATIVE_EN: [&str; 6] = [
    "Broke after two days, requested a refund",
    "Not as pictured. Refund please",
    "Terrible customer service",
    "Wrong size, the refund took forever",
    "Arrived late and the seal was broken",
    "Fake product, want my money back",
];

/// Search queries, Chinese and English.
pub(crate) const QUERIES: [&str; 20] = [
    "连衣裙",
    "运动鞋",
    "口红",
    "奶粉",
    "零食大礼包",
    "扫地机器人",
    "蓝牙耳机",
    "手机壳",
    "猫粮",
    "羽绒服",
    "充电宝",
    "\"防水\"手表",
    "iphone 16",
    "running shoes",
    "face cream",
    "usb-c\\lightning cable",
    "dog food",
    "air fryer",
    "双11 优惠",
    "儿童 绘本",
];

/// Refund reasons.
pub(crate) const REFUND_REASONS: [&str; 8] = [
    "尺码不合适",
    "质量问题",
    "与描述不符",
    "不想要了",
    "发货太慢",
    "damaged in transit",
    "wrong item",
    "changed my mind",
];

/// Where a signup came from.
pub(crate) const SIGNUP_SOURCES: [&str; 9] =
    ["wechat_ad", "douyin_ad", "baidu_search", "organic", "referral", "xiaohongshu", "google_ads", "email", "store_qr"];

/// Relative frequency of the signup sources above.
pub(crate) const SIGNUP_SOURCE_WEIGHTS: [u32; 9] = [25, 18, 12, 20, 8, 8, 3, 3, 3];

/// Non-product pages.
pub(crate) const PAGES: [&str; 6] = ["/", "/cart", "/account", "/promo/double11", "/search", "/orders"];
